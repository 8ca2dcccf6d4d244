from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.app, name="app"),
    path("documents/", views.app, name="documents"),
    path("personas/", views.app, name="personas"),
    path("memory/", views.app, name="memory"),
    path("usage/", views.app, name="usage-page"),
    path("insights/", views.app, name="insights-page"),
    path("verify-email/", views.app, name="verify-email"),
    path("reset-password/", views.reset_password, name="reset-password"),
]
