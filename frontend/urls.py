from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.app, name="app"),
    path("documents/", views.app, name="documents"),
    path("verify-email/", views.app, name="verify-email"),
    path("reset-password/", views.reset_password, name="reset-password"),
]
