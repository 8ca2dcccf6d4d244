"""The account endpoints under /api/auth/, through DRF's client and the real database."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.api.views import SIGNUP_ACCEPTED
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import email_verification_token_make
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {"username": "ada", "email": "Ada@Example.com", "password": "analytical-engine-1843"}


def login(client: APIClient, username: str, password: str = DEFAULT_PASSWORD):
    return client.post(reverse("auth-login"), {"username": username, "password": password}, format="json")


def token_from_mail() -> str:
    match = re.search(r"#token=(\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


# --- signup -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production
def test_signup_creates_an_unverified_user_and_mails_a_link(api_client: APIClient) -> None:
    response = api_client.post(reverse("auth-signup"), SIGNUP, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {"detail": SIGNUP_ACCEPTED, "username": "ada", "email": "ada@example.com"}
    user = User.objects.get(username="ada")
    assert user.email == "ada@example.com"
    assert not user.email_verified
    assert user.check_password(SIGNUP["password"])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "/verify-email/#token=" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "a@example.com", "password": "long-enough-pass-1"}, "username"),
        ({"username": "x", "password": "long-enough-pass-1"}, "email"),
        ({"username": "x", "email": "a@example.com"}, "password"),
        ({"username": "x", "email": "not-an-email", "password": "long-enough-pass-1"}, "email"),
        ({"username": "x" * 151, "email": "a@example.com", "password": "long-enough-pass-1"}, "username"),
        ({"username": ["x"], "email": "a@example.com", "password": "long-enough-pass-1"}, "username"),
        ({"username": "bad name!", "email": "a@example.com", "password": "long-enough-pass-1"}, "username"),
        ({"username": "x", "email": "a@example.com", "password": "123"}, "password"),
        ({"username": "x", "email": "a@example.com", "password": "password"}, "password"),
    ],
)
def test_signup_rejects_bad_input_with_field_errors(api_client: APIClient, payload: dict, field: str) -> None:
    response = api_client.post(reverse("auth-signup"), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"]
    assert body["detail"]
    assert not User.objects.exists()


def test_signup_rejects_a_taken_username_whether_or_not_the_email_is_taken(api_client: APIClient) -> None:
    UserFactory(username="ada", email="ada@example.com")
    free_email = api_client.post(reverse("auth-signup"), {**SIGNUP, "email": "other@example.com"}, format="json")
    taken_email = api_client.post(reverse("auth-signup"), SIGNUP, format="json")
    assert free_email.status_code == taken_email.status_code == 400
    assert free_email.json() == taken_email.json()
    assert set(free_email.json()["errors"]) == {"username"}


@pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production
def test_signup_with_a_taken_email_answers_as_any_signup_and_mails_the_owner(api_client: APIClient) -> None:
    owner = UserFactory(username="ada", email="ada@example.com")
    fresh = api_client.post(
        reverse("auth-signup"), {**SIGNUP, "username": "grace", "email": "grace@example.com"}, format="json"
    )
    taken = api_client.post(reverse("auth-signup"), {**SIGNUP, "username": "lovelace"}, format="json")

    assert fresh.status_code == taken.status_code == 201, taken.json()
    assert taken.json() == {**fresh.json(), "username": "lovelace", "email": "ada@example.com"}
    assert not User.objects.filter(username="lovelace").exists()
    assert list(User.objects.filter(email__iexact="ada@example.com")) == [owner]
    notice = mail.outbox[-1]
    assert notice.to == ["ada@example.com"]
    assert notice.subject == "Someone tried to sign up with your email address"
    assert "ada" in notice.body
    assert "#token=" not in notice.body


@pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production
def test_repeated_signups_with_a_taken_email_mail_its_owner_once(api_client: APIClient) -> None:
    UserFactory(email="ada@example.com")
    for name in ("lovelace", "byron", "king"):
        response = api_client.post(reverse("auth-signup"), {**SIGNUP, "username": name}, format="json")
        assert response.status_code == 201
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_malformed_json_is_a_readable_400(api_client: APIClient) -> None:
    response = api_client.post(reverse("auth-signup"), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert response.json()["detail"].startswith("Not valid JSON: Expecting property name")


# --- email verification -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production
def test_verification_link_from_the_mail_verifies_once(api_client: APIClient) -> None:
    api_client.post(reverse("auth-signup"), SIGNUP, format="json")
    token = token_from_mail()
    first = api_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    again = api_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert first.status_code == 200
    assert first.json()["email_verified"] is True
    assert again.status_code == 400
    assert "already used" in again.json()["detail"]


def test_forged_and_expired_verification_tokens_are_rejected(api_client: APIClient, user: User, settings) -> None:
    forged = api_client.post(reverse("auth-verify-email"), {"token": "abc:def:ghi"}, format="json")
    assert forged.status_code == 400
    assert "not valid" in forged.json()["detail"]

    user.email_verified_at = None
    user.save()
    token = email_verification_token_make(user=user)
    settings.EMAIL_VERIFICATION_MAX_AGE = timedelta(seconds=-1)  # every token is now older than allowed
    expired = api_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert expired.status_code == 400
    assert "expired" in expired.json()["detail"]


def test_verification_link_stops_working_when_the_email_changes(api_client: APIClient, user: User) -> None:
    user.email_verified_at = None
    user.save()
    token = email_verification_token_make(user=user)
    user.email = "new@example.com"
    user.save()
    response = api_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production
def test_resend_answers_the_same_for_unknown_and_known_addresses(api_client: APIClient) -> None:
    UserFactory(email="pending@example.com", email_verified_at=None)
    known = api_client.post(reverse("auth-resend-verification"), {"email": "pending@example.com"}, format="json")
    unknown = api_client.post(reverse("auth-resend-verification"), {"email": "nobody@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to for m in mail.outbox] == [["pending@example.com"]]


def test_resend_is_throttled_with_retry_after(api_client: APIClient) -> None:
    responses = [
        api_client.post(reverse("auth-resend-verification"), {"email": "a@example.com"}, format="json")
        for _ in range(4)
    ]
    assert [r.status_code for r in responses] == [202, 202, 202, 429]
    assert int(responses[-1]["Retry-After"]) > 0
    assert "throttled" in responses[-1].json()["detail"].lower()


# --- login, refresh, logout ---------------------------------------------------------------------


def test_login_returns_a_token_pair_that_authenticates(api_client: APIClient, user: User) -> None:
    response = login(api_client, user.username)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(reverse("auth-me")).json()["username"] == user.username


def test_login_does_not_reveal_whether_a_username_exists(api_client: APIClient, user: User) -> None:
    wrong_password = login(api_client, user.username, "wrong-password")
    unknown_user = login(api_client, "nobody-here", "wrong-password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()


def test_login_rejects_bad_input(api_client: APIClient) -> None:
    response = api_client.post(reverse("auth-login"), {"username": ""}, format="json")
    assert response.status_code == 400
    assert {"username", "password"} <= set(response.json()["errors"])


def test_unverified_user_may_log_in_unless_verification_is_required(api_client: APIClient, settings) -> None:
    user = UserFactory(email_verified_at=None)
    assert login(api_client, user.username).status_code == 200
    settings.REQUIRE_EMAIL_VERIFICATION = True
    response = login(api_client, user.username)
    assert response.status_code == 403
    assert "Verify your email" in response.json()["detail"]


def test_login_is_throttled(api_client: APIClient, user: User) -> None:
    codes = [login(api_client, user.username, "wrong").status_code for _ in range(11)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429


def test_refresh_rotates_and_the_old_refresh_is_rejected(api_client: APIClient, user: User) -> None:
    refresh = login(api_client, user.username).json()["refresh"]
    rotated = api_client.post(reverse("auth-refresh"), {"refresh": refresh}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != refresh
    reused = api_client.post(reverse("auth-refresh"), {"refresh": refresh}, format="json")
    assert reused.status_code == 401
    assert reused.json()["detail"]
    fresh = api_client.post(reverse("auth-refresh"), {"refresh": rotated.json()["refresh"]}, format="json")
    assert fresh.status_code == 200


def test_refresh_rejects_garbage_and_missing_tokens(api_client: APIClient) -> None:
    assert api_client.post(reverse("auth-refresh"), {"refresh": "garbage"}, format="json").status_code == 401
    missing = api_client.post(reverse("auth-refresh"), {}, format="json")
    assert missing.status_code == 400
    assert "refresh" in missing.json()["errors"]


def test_refresh_of_a_deleted_user_is_401_not_500(api_client: APIClient, user: User) -> None:
    refresh = login(api_client, user.username).json()["refresh"]
    User.objects.filter(pk=user.pk).delete()
    assert api_client.post(reverse("auth-refresh"), {"refresh": refresh}, format="json").status_code == 401


def test_logout_revokes_the_refresh_token(api_client: APIClient, user: User) -> None:
    refresh = login(api_client, user.username).json()["refresh"]
    response = api_client.post(reverse("auth-logout"), {"refresh": refresh}, format="json")
    assert response.status_code == 205
    assert api_client.post(reverse("auth-refresh"), {"refresh": refresh}, format="json").status_code == 401
    assert api_client.post(reverse("auth-logout"), {"refresh": refresh}, format="json").status_code == 401
    assert api_client.post(reverse("auth-logout"), {}, format="json").status_code == 400


# --- me, password -------------------------------------------------------------------------------


def test_me_requires_authentication(api_client: APIClient) -> None:
    response = api_client.get(reverse("auth-me"))
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production
def test_me_patch_updates_names_and_reverifies_a_changed_email(auth_client: APIClient, user: User) -> None:
    response = auth_client.patch(reverse("auth-me"), {"first_name": "Ada", "email": "NEW@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Ada"
    assert response.json()["email"] == "new@example.com"
    assert response.json()["email_verified"] is False
    assert mail.outbox[-1].to == ["new@example.com"]


def test_me_patch_rejects_bad_and_taken_emails(auth_client: APIClient) -> None:
    UserFactory(email="taken@example.com")
    assert auth_client.patch(reverse("auth-me"), {"email": "nope"}, format="json").status_code == 400
    taken = auth_client.patch(reverse("auth-me"), {"email": "TAKEN@example.com"}, format="json")
    assert taken.status_code == 400
    assert "email" in taken.json()["errors"]
    assert auth_client.patch(reverse("auth-me"), {"first_name": "x" * 151}, format="json").status_code == 400


def test_password_change_revokes_every_refresh_token(api_client: APIClient, user: User) -> None:
    first = login(api_client, user.username).json()
    second = login(api_client, user.username).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access']}")
    response = api_client.post(
        reverse("auth-password-change"),
        {"old_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-passphrase"},
        format="json",
    )
    assert response.status_code == 204
    for pair in (first, second):
        assert api_client.post(reverse("auth-refresh"), {"refresh": pair["refresh"]}, format="json").status_code == 401
    assert login(APIClient(), user.username, "a-brand-new-passphrase").status_code == 200


def test_password_change_checks_the_old_password_and_validators(auth_client: APIClient) -> None:
    wrong = auth_client.post(
        reverse("auth-password-change"), {"old_password": "nope", "new_password": "another-long-pass-9"}, format="json"
    )
    weak = auth_client.post(
        reverse("auth-password-change"), {"old_password": DEFAULT_PASSWORD, "new_password": "123"}, format="json"
    )
    assert wrong.status_code == 400
    assert weak.status_code == 400
    assert weak.json()["detail"]


def test_deactivated_user_loses_refresh_and_access(api_client: APIClient, user: User) -> None:
    from realtime_chat.accounts.services import user_deactivate

    tokens = login(api_client, user.username).json()
    user_deactivate(user=user)
    assert api_client.post(reverse("auth-refresh"), {"refresh": tokens["refresh"]}, format="json").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(reverse("auth-me")).status_code == 401


def test_unknown_api_url_is_json_404(api_client: APIClient) -> None:
    response = api_client.get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
