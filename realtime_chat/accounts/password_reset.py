"""Password reset by email: a signed, expiring, single-use link, and the confirm step that sets the new password.

The token needs no table: it carries an HMAC of the stored password hash, which changes when the password is set,
so a link works once. Asking for a reset never reveals whether an account uses the address.
"""

import logging

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from realtime_chat.accounts.emails import email_task_queue
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import normalize_email, user_password_set
from realtime_chat.core.errors import InvalidToken

logger = logging.getLogger(__name__)

PASSWORD_RESET_SALT = "realtime_chat.password-reset"  # noqa: S105  (a namespace, not a secret)


def password_reset_request(*, email: str) -> None:
    """Queue the reset mail after commit; unknown and inactive addresses get the same silence as success."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        return
    # The token is made by the task, not here: task arguments are stored in the broker and shown in the admin.
    email_task_queue("password_reset_email_send", user_id=user.pk, task_name=f"password-reset-email-{user.pk}")


def _password_fingerprint(user: User) -> str:
    # An HMAC, never the hash itself: signed tokens are readable by whoever holds them.
    value = f"{user.pk}:{user.password}:{user.email}"
    return salted_hmac(PASSWORD_RESET_SALT, value, algorithm="sha256").hexdigest()[:32]


def password_reset_token_make(*, user: User) -> str:
    return signing.dumps({"uid": user.pk, "fp": _password_fingerprint(user)}, salt=PASSWORD_RESET_SALT)


def password_reset_link(*, user: User) -> str:
    # In the fragment, like the verification link: browsers never send it to servers or write it to access logs.
    return f"{settings.PUBLIC_BASE_URL}/reset-password/#token={password_reset_token_make(user=user)}"


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set the new password (validators apply, every refresh token is revoked) and spend the link.

    Opening the link proves control of the address, so an unverified email becomes verified.
    """
    try:
        payload = signing.loads(token, salt=PASSWORD_RESET_SALT, max_age=settings.PASSWORD_RESET_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidToken("This password reset link has expired. Ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("This password reset link is not valid.") from exc
    # Locked, so two confirms racing with one link cannot both pass the fingerprint check (PostgreSQL).
    user = User.objects.select_for_update().filter(pk=payload.get("uid"), is_active=True).first()
    if user is None or not constant_time_compare(payload.get("fp", ""), _password_fingerprint(user)):
        raise InvalidToken("This password reset link was already used or is no longer valid. Ask for a new one.")
    user_password_set(user=user, password=new_password)
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    logger.info("Password reset for user %s", user.pk)
    return user
