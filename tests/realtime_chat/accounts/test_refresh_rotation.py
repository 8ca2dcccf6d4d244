"""Refresh-token rotation: one use per token even under concurrency, and a reused token revokes its whole login."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from tests.factories import DEFAULT_PASSWORD

ATTEMPTS = 8


def login(user: User) -> str:
    response = APIClient().post(
        reverse("auth-login"), {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["refresh"]


def refresh(token: str) -> tuple[int, dict[str, Any]]:
    response = APIClient().post(reverse("auth-refresh"), {"refresh": token}, format="json")
    return response.status_code, response.json()


def rotated(token: str) -> str:
    code, body = refresh(token)
    assert code == 200, body
    return body["refresh"]


@pytest.mark.django_db(transaction=True)  # each thread has its own connection: it must see committed rows
def test_concurrent_refreshes_of_one_token_have_exactly_one_winner(user: User, settings) -> None:
    token = login(user)
    start = threading.Barrier(ATTEMPTS)

    def attempt(_: int) -> tuple[int, dict[str, Any]]:
        try:
            start.wait(timeout=30)  # all at once
            return refresh(token)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        results = list(pool.map(attempt, range(ATTEMPTS)))

    codes = sorted(code for code, _ in results)
    assert codes == [200] + [401] * (ATTEMPTS - 1), results
    assert all(body["code"] == "token_not_valid" for code, body in results if code == 401)
    winner = next(body["refresh"] for code, body in results if code == 200)
    # The losers came back within the grace (tabs refreshing at once): refused, and the winner's pair still works.
    newest = rotated(winner)

    settings.REFRESH_TOKEN_REUSE_GRACE = timedelta(0)
    assert refresh(token)[0] == 401  # used again later: it was copied
    assert refresh(newest)[0] == 401  # so every token of that login is revoked


@pytest.mark.django_db(transaction=True)
def test_a_spent_refresh_token_used_again_revokes_its_whole_login_only(user: User, settings) -> None:
    settings.REFRESH_TOKEN_REUSE_GRACE = timedelta(0)
    first = login(user)
    second = rotated(first)
    third = rotated(second)
    other_login = login(user)

    code, body = refresh(second)
    assert code == 401
    assert body["code"] == "token_not_valid"
    assert body["detail"]
    assert refresh(third)[0] == 401
    assert refresh(first)[0] == 401
    assert refresh(other_login)[0] == 200  # another login (device) of the same user is not touched


def test_a_spent_refresh_token_used_again_within_the_grace_is_only_refused(user: User) -> None:
    first = login(user)
    second = rotated(first)
    assert refresh(first)[0] == 401
    assert refresh(second)[0] == 200


def test_a_logged_out_refresh_token_used_again_is_refused(user: User, settings) -> None:
    settings.REFRESH_TOKEN_REUSE_GRACE = timedelta(0)
    token = login(user)
    assert APIClient().post(reverse("auth-logout"), {"refresh": token}, format="json").status_code == 205
    assert refresh(token)[0] == 401
    assert refresh(login(user))[0] == 200
