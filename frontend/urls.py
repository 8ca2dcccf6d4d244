from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.app, name="app"),
    path("documents/", views.app, name="documents"),
    path("usage/", views.app, name="usage-page"),
    path("insights/", views.app, name="insights-page"),
    path("verify-email/", views.app, name="verify-email"),
    path("reset-password/", views.reset_password, name="reset-password"),
]
