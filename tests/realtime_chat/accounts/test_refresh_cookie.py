"""The browser's refresh token as an HttpOnly cookie (asked for with `X-Refresh-Cookie: 1`), beside the JSON flow
API clients keep. The page's side, in Chromium, is tests/browser/test_refresh_cookie.py."""

from http.cookies import Morsel

from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from tests.config.test_settings import PRODUCTION_ENV, manage
from tests.factories import DEFAULT_PASSWORD

COOKIE_FLOW = {"HTTP_X_REFRESH_COOKIE": "1"}
PATHS = {"refresh_token": "/api/auth/refresh/", "logout_token": "/api/auth/logout/"}


def cookie_login(client: APIClient, user: User) -> str:
    response = client.post(
        reverse("auth-login"), {"username": user.username, "password": DEFAULT_PASSWORD}, format="json", **COOKIE_FLOW
    )
    assert response.status_code == 200, response.json()
    return response.cookies["refresh_token"].value


def body_refresh(token: str) -> int:
    return APIClient().post(reverse("auth-refresh"), {"refresh": token}, format="json").status_code


def assert_cleared(cookie: Morsel) -> None:
    assert cookie.value == ""
    assert cookie["max-age"] == 0


def test_cookie_login_sets_the_refresh_token_httponly_strict_secure_for_refresh_and_logout_only(
    api_client: APIClient, user: User
) -> None:
    response = api_client.post(
        reverse("auth-login"), {"username": user.username, "password": DEFAULT_PASSWORD}, format="json", **COOKIE_FLOW
    )

    assert response.status_code == 200
    assert set(response.json()) == {"access"}, "the refresh token must not reach the page's scripts"
    assert set(response.cookies) == set(PATHS)
    for name, path in PATHS.items():
        cookie = response.cookies[name]
        assert cookie["path"] == path
        assert cookie["httponly"] and cookie["secure"]
        assert cookie["samesite"] == "Strict"
        assert cookie["max-age"] == 7 * 24 * 3600
    assert response.cookies["refresh_token"].value == response.cookies["logout_token"].value
    assert body_refresh(response.cookies["refresh_token"].value) == 200  # a real refresh token of this login


def test_api_clients_keep_the_json_pair_and_get_no_cookie(api_client: APIClient, user: User) -> None:
    login = api_client.post(
        reverse("auth-login"), {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert set(login.json()) == {"access", "refresh"}
    assert not login.cookies
    refreshed = api_client.post(reverse("auth-refresh"), {"refresh": login.json()["refresh"]}, format="json")
    assert set(refreshed.json()) == {"access", "refresh"}
    assert not refreshed.cookies


def test_cookie_refresh_rotates_the_cookie_and_spends_the_old_token(api_client: APIClient, user: User) -> None:
    first = cookie_login(api_client, user)

    response = api_client.post(reverse("auth-refresh"), **COOKIE_FLOW)

    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access"}
    second = response.cookies["refresh_token"].value
    assert second != first
    assert response.cookies["logout_token"].value == second
    assert body_refresh(first) == 401
    assert api_client.post(reverse("auth-refresh"), **COOKIE_FLOW).status_code == 200  # the client sends `second`


def test_the_cookie_counts_only_with_the_header(api_client: APIClient, user: User) -> None:
    """What a cross-site form post could send at most (were the cookie not SameSite=Strict): the cookie, no header.
    Neither refresh nor logout reads it, and the token stays unspent."""
    token = cookie_login(api_client, user)

    refresh = api_client.post(reverse("auth-refresh"))
    logout = api_client.post(reverse("auth-logout"))

    assert refresh.status_code == logout.status_code == 400
    assert "refresh" in refresh.json()["errors"]
    assert not logout.cookies, "a logout without the header must not clear the cookie either"
    assert body_refresh(token) == 200


def test_cookie_refresh_without_a_cookie_is_401(api_client: APIClient) -> None:
    response = api_client.post(reverse("auth-refresh"), **COOKIE_FLOW)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_cookie_logout_revokes_the_token_and_clears_both_cookies(api_client: APIClient, user: User) -> None:
    token = cookie_login(api_client, user)

    response = api_client.post(reverse("auth-logout"), **COOKIE_FLOW)

    assert response.status_code == 205
    for name in PATHS:
        assert_cleared(response.cookies[name])
        assert response.cookies[name]["path"] == PATHS[name]
        assert response.cookies[name]["secure"], "a Secure cookie is only overwritten by a Secure one"
    assert body_refresh(token) == 401


def test_cookie_logout_clears_the_cookies_even_when_the_token_no_longer_works(
    api_client: APIClient, user: User
) -> None:
    token = cookie_login(api_client, user)
    assert APIClient().post(reverse("auth-logout"), {"refresh": token}, format="json").status_code == 205

    response = api_client.post(reverse("auth-logout"), **COOKIE_FLOW)

    assert response.status_code == 401
    assert_cleared(response.cookies["refresh_token"])
    assert_cleared(response.cookies["logout_token"])


def test_a_tab_that_loses_a_refresh_race_leaves_the_winners_cookie_alone(user: User) -> None:
    """Two tabs send the same cookie: the one refused must not clear the cookie its browser now holds from the
    winner, nor (within the grace) revoke the login."""
    winner, loser = APIClient(), APIClient()
    token = cookie_login(winner, user)
    loser.cookies["refresh_token"] = token

    won = winner.post(reverse("auth-refresh"), **COOKIE_FLOW)
    lost = loser.post(reverse("auth-refresh"), **COOKIE_FLOW)

    assert won.status_code == 200
    assert lost.status_code == 401
    assert not lost.cookies
    loser.cookies["refresh_token"] = won.cookies["refresh_token"].value  # the browser's one cookie jar
    assert loser.post(reverse("auth-refresh"), **COOKIE_FLOW).status_code == 200


def test_without_secure_cookies_the_cookie_is_not_secure(api_client: APIClient, user: User, settings) -> None:
    settings.REFRESH_COOKIE_SECURE = False  # plain http from another machine, in development
    login = api_client.post(
        reverse("auth-login"), {"username": user.username, "password": DEFAULT_PASSWORD}, format="json", **COOKIE_FLOW
    )
    assert not login.cookies["refresh_token"]["secure"]
    assert login.cookies["refresh_token"]["httponly"]


def test_production_refuses_a_refresh_cookie_that_is_not_secure() -> None:
    result = manage("check", env={**PRODUCTION_ENV, "REFRESH_COOKIE_SECURE": "false"})
    assert result.returncode != 0
    assert "REFRESH_COOKIE_SECURE" in result.stderr
