from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The user model, sign-up, login tokens, email verification and password reset."""

    name = "realtime_chat.accounts"
    label = "accounts"
    verbose_name = "Accounts"
