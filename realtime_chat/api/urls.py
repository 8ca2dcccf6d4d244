from django.urls import path

from realtime_chat.api import accounts, chat, health, password_reset

urlpatterns = [
    path("auth/signup/", accounts.SignupApi.as_view(), name="auth-signup"),
    path("auth/verify-email/", accounts.VerifyEmailApi.as_view(), name="auth-verify-email"),
    path("auth/resend-verification/", accounts.ResendVerificationApi.as_view(), name="auth-resend-verification"),
    path("auth/login/", accounts.LoginApi.as_view(), name="auth-login"),
    path("auth/refresh/", accounts.RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout/", accounts.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", accounts.MeApi.as_view(), name="auth-me"),
    path("auth/password/", accounts.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("auth/password-reset/", password_reset.PasswordResetRequestApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password-reset/confirm/",
        password_reset.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("sessions/", chat.SessionListApi.as_view(), name="session-list"),
    path("sessions/<int:session_id>/", chat.SessionDetailApi.as_view(), name="session-detail"),
    path("sessions/<int:session_id>/messages/", chat.MessageListApi.as_view(), name="session-messages"),
    path("sessions/<int:session_id>/export/", chat.SessionExportApi.as_view(), name="session-export"),
    path("search/", chat.HistorySearchApi.as_view(), name="history-search"),
    path("preferences/", chat.PreferencesApi.as_view(), name="preferences"),
    path("models/", chat.ModelListApi.as_view(), name="models"),
    path("health/live/", health.LiveApi.as_view(), name="health-live"),
    path("health/", health.HealthApi.as_view(), name="health"),
]

