"""django-q2 tasks: thin interfaces that load ids and call a service."""

from django.conf import settings

from realtime_chat.emails import email_send
from realtime_chat.models import User
from realtime_chat.services.accounts import email_verification_link


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


def flush_expired_tokens() -> None:
    """Expired refresh tokens (and their blacklist rows) are useless; simplejwt's own command removes them."""
    from django.core.management import call_command

    call_command("flushexpiredtokens")
