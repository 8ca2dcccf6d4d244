from django.urls import path

from realtime_chat.api import accounts, health

urlpatterns = [
    path("auth/signup/", accounts.SignupApi.as_view(), name="auth-signup"),
    path("auth/verify-email/", accounts.VerifyEmailApi.as_view(), name="auth-verify-email"),
    path("auth/resend-verification/", accounts.ResendVerificationApi.as_view(), name="auth-resend-verification"),
    path("auth/login/", accounts.LoginApi.as_view(), name="auth-login"),
    path("auth/refresh/", accounts.RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout/", accounts.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", accounts.MeApi.as_view(), name="auth-me"),
    path("auth/password/", accounts.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("health/live/", health.LiveApi.as_view(), name="health-live"),
    path("health/", health.HealthApi.as_view(), name="health"),
]
