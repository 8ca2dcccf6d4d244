"""Account writes: sign-up, email verification, login tokens, password changes, revocation."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from realtime_chat.accounts.emails import email_task_queue
from realtime_chat.accounts.models import RefreshTokenFamilyMember, User
from realtime_chat.core.errors import ApplicationError, EmailNotVerified, InvalidToken

logger = logging.getLogger(__name__)

EMAIL_VERIFICATION_SALT = "realtime_chat.email-verification"
# An address that already has an account gets at most one "someone tried to sign up" email this often.
SIGNUP_NOTICE_INTERVAL_SECONDS = 3600


class InvalidCredentials(ApplicationError):
    """Wrong username, wrong password and inactive account all read the same, so logins reveal nothing."""

    status_code = 401
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("No active account found with the given credentials.")


class InvalidRefreshToken(ApplicationError):
    status_code = 401
    code = "token_not_valid"


class NoActiveAccount(ApplicationError):
    """A valid refresh token of a deleted or deactivated user."""

    status_code = 401
    code = "no_active_account"

    def __init__(self) -> None:
        super().__init__("No active account found for the given token.")


class EmailTaken(ValidationError):
    def __init__(self) -> None:
        super().__init__({"email": "A user with that email address already exists."})


def normalize_email(email: str) -> str:
    return email.strip().lower()


def user_create(*, username: str, email: str, password: str) -> User | None:
    """A new account, its verification link on the way. None when the address already has an account: no error
    (it would tell anyone who has one); the account's owner is told by email instead. A taken username is an
    error: usernames are public."""
    user = User(username=username, email=normalize_email(email))
    _password_validate(password, user=user, field="password")
    user.set_password(password)  # hashed either way, so the answer takes as long whether or not the address is taken
    try:
        _user_save_unique(user)
    except EmailTaken:
        _signup_attempt_notice_queue(email=user.email)
        return None
    verification_email_queue(user=user)
    return user


def _user_save_unique(user: User) -> None:
    """Validate, then save; a concurrent duplicate that slips past validation still gets a 400, not a 500.

    The username is checked first, so whether an email is taken never changes the answer about a username."""
    user.full_clean(exclude=["password"], validate_constraints=False)
    if _email_taken(user):
        raise EmailTaken()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        if _email_taken(user):
            raise EmailTaken() from exc
        raise ValidationError({"username": "A user with that username already exists."}) from exc


def _email_taken(user: User) -> bool:
    return User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists()


def verification_email_queue(*, user: User) -> None:
    email_task_queue("send_verification_email", user_id=user.pk, task_name=f"verify-email-{user.pk}")


def _signup_attempt_notice_queue(*, email: str) -> None:
    """Tell the owner of `email` that someone tried to sign up with it, at most once an interval (else sign-ups
    would be a way to flood someone's inbox)."""
    owner = User.objects.filter(email__iexact=email, is_active=True).first()
    if owner is None or not cache.add(f"signup-notice:{owner.pk}", True, timeout=SIGNUP_NOTICE_INTERVAL_SECONDS):
        return
    email_task_queue("signup_attempt_email_send", user_id=owner.pk, task_name=f"signup-attempt-email-{owner.pk}")


def email_verification_token_make(*, user: User) -> str:
    # Binding the email means a link stops working once the address changes.
    return signing.dumps({"uid": user.pk, "email": user.email}, salt=EMAIL_VERIFICATION_SALT)


def email_verification_link(*, user: User) -> str:
    # The token rides in the fragment, which browsers never send to servers or write to access logs.
    return f"{settings.PUBLIC_BASE_URL}/verify-email/#token={email_verification_token_make(user=user)}"


@transaction.atomic
def user_verify_email(*, token: str) -> User:
    try:
        payload = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidToken("This verification link has expired. Ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("This verification link is not valid.") from exc
    user = User.objects.select_for_update().filter(pk=payload.get("uid"), email=payload.get("email")).first()
    if user is None:
        raise InvalidToken("This verification link is not valid.")
    if user.email_verified:
        raise InvalidToken("This verification link was already used.")
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return user


def verification_resend(*, email: str) -> None:
    """Silently does nothing for unknown or verified addresses: the answer must not reveal who has an account."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is not None and not user.email_verified:
        verification_email_queue(user=user)


def user_login(*, username: str, password: str) -> dict[str, str]:
    user = authenticate(username=username, password=password)
    if user is None:
        raise InvalidCredentials()
    if settings.REQUIRE_EMAIL_VERIFICATION and not user.email_verified:
        raise EmailNotVerified("Verify your email address before logging in. We sent you a link.")
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return token_pair_issue(user=user)


def token_pair_issue(*, user: User) -> dict[str, str]:
    return _token_pair(RefreshToken.for_user(user))


def _token_pair(refresh: RefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def refresh_token_revoke(*, refresh: str) -> None:
    try:
        RefreshToken(refresh).blacklist()  # type: ignore[arg-type]  # simplejwt annotates the encoded str as Token
    except TokenError as exc:
        raise InvalidRefreshToken("This refresh token is invalid, expired or already revoked.") from exc


class _UnscreenedRefreshToken(RefreshToken):
    """Signature, expiry and type checked, not the blacklist: rotation reads that itself, under a lock, to tell a
    token used twice from one that was never valid."""

    def check_blacklist(self) -> None:
        return None


def refresh_token_rotate(*, refresh: str) -> dict[str, str]:
    """A new pair for a refresh token, which is spent. Of concurrent uses of one token exactly one wins (its row is
    locked; on SQLite every write transaction is exclusive); the others, and any later use, are refused. A use later
    than `REFRESH_TOKEN_REUSE_GRACE` means the token was copied: every token of its login is revoked too."""
    try:
        token = _UnscreenedRefreshToken(refresh)  # type: ignore[arg-type]  # simplejwt annotates the str as Token
    except TokenError as exc:
        raise InvalidRefreshToken("This refresh token is invalid or expired.") from exc
    with transaction.atomic():  # committed before refusing: revoking a family must not be rolled back
        pair = _refresh_token_spend(jti=token[jwt_settings.JTI_CLAIM], user_id=token.get(jwt_settings.USER_ID_CLAIM))
    if pair is None:
        raise InvalidRefreshToken("This refresh token was already used or revoked. Log in again.")
    return pair


def _refresh_token_spend(*, jti: str, user_id: int | str) -> dict[str, str] | None:
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).first()
    if outstanding is None:
        return None  # signed by us but never issued by us, or flushed: nothing to rotate from
    spent = BlacklistedToken.objects.filter(token=outstanding).first()
    if spent is not None:
        if timezone.now() - spent.blacklisted_at > settings.REFRESH_TOKEN_REUSE_GRACE:
            _refresh_token_family_revoke(outstanding)
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NoActiveAccount()
    BlacklistedToken.objects.create(token=outstanding)
    # The login's first token joins its family only when it is first rotated: logging in writes no family row.
    member, _ = RefreshTokenFamilyMember.objects.get_or_create(token=outstanding, defaults={"family": uuid.uuid4()})
    issued = RefreshToken.for_user(user)
    issued_row = OutstandingToken.objects.get(jti=issued[jwt_settings.JTI_CLAIM])
    RefreshTokenFamilyMember.objects.create(token=issued_row, family=member.family)
    return _token_pair(issued)


def _refresh_token_family_revoke(token: OutstandingToken) -> None:
    member = RefreshTokenFamilyMember.objects.filter(token=token).first()
    if member is None:
        return  # never rotated (revoked by logout or a password change): no other token descends from it
    revoked = _refresh_tokens_revoke(OutstandingToken.objects.filter(family_member__family=member.family))
    logger.warning(
        "A spent refresh token of user %s was used again: revoked %d tokens of its login", token.user_id, revoked
    )


def user_refresh_tokens_revoke_all(*, user: User) -> int:
    """Blacklist every outstanding refresh token of the user (password change, deactivation)."""
    return _refresh_tokens_revoke(OutstandingToken.objects.filter(user=user))


def _refresh_tokens_revoke(tokens: QuerySet[OutstandingToken]) -> int:
    revoked = [BlacklistedToken(token=token) for token in tokens.exclude(blacklistedtoken__isnull=False)]
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


@transaction.atomic
def user_update(
    *, user: User, email: str | None = None, first_name: str | None = None, last_name: str | None = None
) -> User:
    new_email = user.email if email is None else normalize_email(email)
    email_changed = new_email != user.email
    if email_changed:
        user.email = new_email
        user.email_verified_at = None
    if first_name is not None:
        user.first_name = first_name
    if last_name is not None:
        user.last_name = last_name
    _user_save_unique(user)
    if email_changed:
        verification_email_queue(user=user)
    return user


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ApplicationError(
            "The current password is not correct.", extra={"errors": {"old_password": ["Wrong password."]}}
        )
    user_password_set(user=user, password=new_password)


def _password_validate(password: str, *, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


@transaction.atomic
def user_password_set(*, user: User, password: str, field: str = "new_password") -> None:
    _password_validate(password, user=user, field=field)
    user.set_password(password)
    user.save(update_fields=["password"])
    user_refresh_tokens_revoke_all(user=user)


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    user_refresh_tokens_revoke_all(user=user)


@dataclass(frozen=True)
class AccessGrant:
    """What a valid access token grants: its user, until it expires (a socket is closed then unless renewed)."""

    user: User
    expires_at: datetime

    def seconds_left(self) -> float:
        return max((self.expires_at - timezone.now()).total_seconds(), 0.0)


def access_token_check(*, token: str) -> AccessGrant | None:
    """The grant of a valid access token, or None for a missing, forged, expired one or an inactive user."""
    try:
        payload = AccessToken(token)  # type: ignore[arg-type]  # simplejwt annotates the encoded str as Token
    except TokenError:
        return None
    user = User.objects.filter(pk=payload.get("user_id"), is_active=True).first()
    if user is None:
        return None
    return AccessGrant(user=user, expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC))
