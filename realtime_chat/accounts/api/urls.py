from django.urls import path

from realtime_chat.accounts.api import password_reset, views

urlpatterns = [
    path("auth/signup/", views.SignupApi.as_view(), name="auth-signup"),
    path("auth/verify-email/", views.VerifyEmailApi.as_view(), name="auth-verify-email"),
    path("auth/resend-verification/", views.ResendVerificationApi.as_view(), name="auth-resend-verification"),
    path("auth/login/", views.LoginApi.as_view(), name="auth-login"),
    path("auth/refresh/", views.RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", views.MeApi.as_view(), name="auth-me"),
    path("auth/password/", views.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("auth/password-reset/", password_reset.PasswordResetRequestApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password-reset/confirm/",
        password_reset.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
]
