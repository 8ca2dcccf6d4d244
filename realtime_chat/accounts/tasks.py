"""django-q2 tasks: thin interfaces that load ids and call a service.

Every task is safe to run twice (a second run finds nothing left to do) and runs under a timeout: the one
`setup_schedules` stores in the schedule's `q_options`, the one given when queued, or `Q_CLUSTER["timeout"]`.
What a task returns is shown in the admin ("Successful tasks"); what it raises is kept under "Failed tasks".
"""

from django.conf import settings

from realtime_chat.accounts import cleanup
from realtime_chat.accounts.emails import email_send
from realtime_chat.accounts.models import User
from realtime_chat.accounts.password_reset import password_reset_link
from realtime_chat.accounts.services import email_verification_link


def send_verification_email(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.email_verified:
        return  # nothing to do: idempotent when run twice or after verification
    hours = int(settings.EMAIL_VERIFICATION_MAX_AGE.total_seconds() // 3600)
    email_send(
        to=user.email,
        subject="Confirm your email address",
        body=(
            f"Hello {user.username},\n\n"
            f"Confirm your email address by opening this link (valid for {hours} hours):\n\n"
            f"{email_verification_link(user=user)}\n\n"
            "If you did not sign up, ignore this email.\n"
        ),
    )


def refresh_tokens_flush() -> str:
    return f"deleted {cleanup.refresh_tokens_flush_expired()} expired refresh tokens"


def password_reset_email_send(user_id: int) -> None:
    """Makes the link from the user as they are now: run twice, both links work until one of them is used."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return  # deactivated or deleted since the request: nothing to send
    minutes = int(settings.PASSWORD_RESET_MAX_AGE.total_seconds() // 60)
    email_send(
        to=user.email,
        subject="Reset your password",
        body=(
            f"Hello {user.username},\n\n"
            f"Someone (hopefully you) asked to reset the password of your account. Choose a new password by opening\n"
            f"this link (valid for {minutes} minutes, once):\n\n"
            f"{password_reset_link(user=user)}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n"
        ),
    )


def signup_attempt_email_send(user_id: int) -> None:
    """Sign-up answers the same whether or not an address has an account; its owner learns of the attempt here."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    email_send(
        to=user.email,
        subject="Someone tried to sign up with your email address",
        body=(
            f"Hello {user.username},\n\n"
            "Someone tried to create a new account with this email address. It already belongs to your account,\n"
            "so no new account was made.\n\n"
            f"If it was you: log in at {settings.PUBLIC_BASE_URL}/ with your username, {user.username}. If you\n"
            "have forgotten your password, ask for a password reset.\n\n"
            "If it was not you, ignore this email: nothing changed.\n"
        ),
    )
