"""Password reset: request (never reveals an account) and confirm (signed, expiring, single-use link)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.password_reset import password_reset_token_make
from realtime_chat.accounts.services import email_verification_token_make, token_pair_issue
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the mail is queued on commit, as in production

NEW_PASSWORD = "a-brand-new-passphrase-42"


def request_reset(client: APIClient, email: object):
    return client.post(reverse("auth-password-reset"), {"email": email}, format="json")


def confirm(client: APIClient, payload: dict):
    return client.post(reverse("auth-password-reset-confirm"), payload, format="json")


def login(client: APIClient, user: User, password: str):
    return client.post(reverse("auth-login"), {"username": user.username, "password": password}, format="json")


def token_from_mail() -> str:
    match = re.search(r"/reset-password/#token=(\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


# --- request ------------------------------------------------------------------------------------


def test_request_mails_a_reset_link_to_the_account(api_client: APIClient, user: User) -> None:
    response = request_reset(api_client, user.email.upper())
    assert response.status_code == 202
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert mail.outbox[0].subject == "Reset your password"
    assert token_from_mail()


def test_request_answers_the_same_for_unknown_and_inactive_addresses(api_client: APIClient, user: User) -> None:
    known = request_reset(api_client, user.email)
    unknown = request_reset(api_client, "nobody@example.com")
    inactive_user = UserFactory(is_active=False)
    inactive = request_reset(api_client, inactive_user.email)
    assert known.status_code == unknown.status_code == inactive.status_code == 202
    assert known.json() == unknown.json() == inactive.json()
    assert [m.to for m in mail.outbox] == [[user.email]]


@pytest.mark.parametrize("email", [None, "", "not-an-email", ["a@example.com"], {"a": 1}, "a" * 250 + "@example.com"])
def test_request_rejects_bad_input_naming_the_field(api_client: APIClient, email: object) -> None:
    response = request_reset(api_client, email)
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
    assert response.json()["detail"]


def test_request_without_a_body_is_a_readable_400(api_client: APIClient) -> None:
    response = api_client.post(reverse("auth-password-reset"), {}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_request_is_throttled_with_retry_after(api_client: APIClient) -> None:
    codes = [request_reset(api_client, f"x{i}@example.com") for i in range(6)]
    assert [r.status_code for r in codes] == [202] * 5 + [429]
    assert int(codes[-1]["Retry-After"]) > 0


# --- confirm ------------------------------------------------------------------------------------


def test_link_from_the_mail_sets_the_password_and_revokes_refresh_tokens(api_client: APIClient, user: User) -> None:
    old_refresh = token_pair_issue(user=user)["refresh"]
    request_reset(api_client, user.email)

    response = confirm(api_client, {"token": token_from_mail(), "new_password": NEW_PASSWORD})

    assert response.status_code == 204
    assert login(api_client, user, NEW_PASSWORD).status_code == 200
    assert login(api_client, user, DEFAULT_PASSWORD).status_code == 401
    refreshed = api_client.post(reverse("auth-refresh"), {"refresh": old_refresh}, format="json")
    assert refreshed.status_code == 401


def test_link_works_once(api_client: APIClient, user: User) -> None:
    token = password_reset_token_make(user=user)
    assert confirm(api_client, {"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    reused = confirm(api_client, {"token": token, "new_password": "yet-another-passphrase-7"})
    assert reused.status_code == 400
    assert "already used" in reused.json()["detail"]
    assert login(api_client, user, NEW_PASSWORD).status_code == 200


def test_expired_link_is_rejected(api_client: APIClient, user: User, settings) -> None:
    token = password_reset_token_make(user=user)
    settings.PASSWORD_RESET_MAX_AGE = timedelta(seconds=-1)  # every token is now older than allowed
    response = confirm(api_client, {"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.json()["detail"]
    assert login(api_client, user, DEFAULT_PASSWORD).status_code == 200


def test_forged_and_foreign_tokens_are_rejected(api_client: APIClient, user: User) -> None:
    genuine = password_reset_token_make(user=user)
    forged = [
        "abc:def:ghi",
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),  # tampered signature
        email_verification_token_make(user=user),  # a real token, but for another purpose
    ]
    for token in forged:
        response = confirm(api_client, {"token": token, "new_password": NEW_PASSWORD})
        assert response.status_code == 400, token
        assert response.json()["code"] == "invalid_token"
        assert "not valid" in response.json()["detail"]
    assert login(api_client, user, DEFAULT_PASSWORD).status_code == 200


def test_link_stops_working_when_the_email_changes_or_the_user_is_deactivated(api_client: APIClient) -> None:
    moved, gone = UserFactory(), UserFactory()
    moved_token, gone_token = password_reset_token_make(user=moved), password_reset_token_make(user=gone)
    moved.email = "moved@example.com"
    moved.save()
    gone.is_active = False
    gone.save()
    for token in (moved_token, gone_token):
        assert confirm(api_client, {"token": token, "new_password": NEW_PASSWORD}).status_code == 400


@pytest.mark.parametrize("weak", ["123", "password", "short"])
def test_weak_password_is_rejected_naming_the_field_and_the_link_stays_usable(
    api_client: APIClient, user: User, weak: str
) -> None:
    token = password_reset_token_make(user=user)
    response = confirm(api_client, {"token": token, "new_password": weak})
    assert response.status_code == 400
    assert "new_password" in response.json()["errors"]
    assert confirm(api_client, {"token": token, "new_password": NEW_PASSWORD}).status_code == 204


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"new_password": NEW_PASSWORD}, "token"),
        ({"token": "abc"}, "new_password"),
        ({"token": ["abc"], "new_password": NEW_PASSWORD}, "token"),
        ({"token": "abc", "new_password": {"x": 1}}, "new_password"),
        ({"token": "x" * 1001, "new_password": NEW_PASSWORD}, "token"),
        ({"token": "abc", "new_password": "x" * 129}, "new_password"),
        ({"token": "", "new_password": NEW_PASSWORD}, "token"),
    ],
)
def test_confirm_rejects_bad_input_naming_the_field(api_client: APIClient, payload: dict, field: str) -> None:
    response = confirm(api_client, payload)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_confirm_verifies_the_email_it_proved(api_client: APIClient) -> None:
    unverified = UserFactory(email_verified_at=None)
    token = password_reset_token_make(user=unverified)
    assert confirm(api_client, {"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    unverified.refresh_from_db()
    assert unverified.email_verified


def test_another_users_token_cannot_reset_my_password(api_client: APIClient, user: User, stranger: User) -> None:
    stranger_token = password_reset_token_make(user=stranger)
    assert confirm(api_client, {"token": stranger_token, "new_password": NEW_PASSWORD}).status_code == 204
    assert login(api_client, user, DEFAULT_PASSWORD).status_code == 200
    assert login(api_client, user, NEW_PASSWORD).status_code == 401
