"""Limits on the public account endpoints and the admin login: per client address, as configured, and per account.

X-Forwarded-For is believed only from TRUSTED_PROXIES (none by default), so a client cannot open a new bucket by
rotating it.
"""

from ipaddress import ip_network

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.throttles import client_address
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_LIMIT = 10  # THROTTLE_LOGIN's default, 10/min


def api_login(username: str, password: str, **extra: str):
    return APIClient().post(reverse("auth-login"), {"username": username, "password": password}, format="json", **extra)


def admin_login(username: str, password: str, **extra: str):
    return Client().post("/admin/login/", {"username": username, "password": password, "next": "/admin/"}, **extra)


def spoofed(i: int) -> dict[str, str]:
    return {"HTTP_X_FORWARDED_FOR": f"198.51.100.{i}"}


def test_login_limit_ignores_a_rotating_x_forwarded_for(user: User) -> None:
    wrong = [api_login(user.username, "wrong", **spoofed(i)).status_code for i in range(LOGIN_LIMIT)]
    right = api_login(user.username, DEFAULT_PASSWORD, **spoofed(99))
    assert wrong == [401] * LOGIN_LIMIT
    assert right.status_code == 429
    assert right.json()["code"] == "throttled"
    assert int(right["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("url_name", "limit"),
    [("auth-signup", 5), ("auth-password-reset", 5), ("auth-resend-verification", 3)],
)
def test_public_endpoint_limits_ignore_a_rotating_x_forwarded_for(url_name: str, limit: int) -> None:
    # A new address each time, so only the client's limit can refuse (not the one per email address).
    responses = [
        APIClient().post(reverse(url_name), {"email": f"someone{i}@example.com"}, format="json", **spoofed(i))
        for i in range(limit + 1)
    ]
    assert all(r.status_code != 429 for r in responses[:limit])
    assert responses[-1].status_code == 429
    assert responses[-1].json()["detail"]


def test_login_attempts_on_one_username_are_limited_from_any_number_of_addresses(user: User) -> None:
    def from_address(i: int) -> dict[str, str]:
        return {"REMOTE_ADDR": f"203.0.113.{i}"}

    wrong = [api_login(user.username, "wrong", **from_address(i)).status_code for i in range(LOGIN_LIMIT)]
    assert wrong == [401] * LOGIN_LIMIT
    assert api_login(user.username, DEFAULT_PASSWORD, **from_address(200)).status_code == 429
    assert api_login(user.username.upper(), "wrong", **from_address(201)).status_code == 429
    assert api_login("someone-else", "wrong", **from_address(202)).status_code == 401


def test_password_reset_mails_to_one_address_are_limited_from_any_number_of_addresses() -> None:
    codes = [
        APIClient()
        .post(
            reverse("auth-password-reset"), {"email": "victim@example.com"}, format="json", REMOTE_ADDR=f"203.0.113.{i}"
        )
        .status_code
        for i in range(6)
    ]
    assert codes == [202] * 5 + [429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(user: User, settings) -> None:
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]

    def via_proxy(forwarded: str) -> dict[str, str]:
        return {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": forwarded}

    # What the client wrote into the header sits left of what the proxy appended: it changes nothing.
    wrong = [api_login(f"name{i}", "wrong", **via_proxy(f"192.0.2.{i}, 203.0.113.7")) for i in range(LOGIN_LIMIT)]
    assert [r.status_code for r in wrong] == [401] * LOGIN_LIMIT
    assert api_login("another", "wrong", **via_proxy("192.0.2.99, 203.0.113.7")).status_code == 429
    assert api_login(user.username, DEFAULT_PASSWORD, **via_proxy("203.0.113.8")).status_code == 200


def test_admin_login_is_limited_per_client_whatever_x_forwarded_for_says(user: User) -> None:
    user.is_staff = True
    user.save()
    wrong = [admin_login(f"name{i}", "wrong", **spoofed(i)).status_code for i in range(LOGIN_LIMIT)]
    refused = admin_login(user.username, DEFAULT_PASSWORD, **spoofed(99))
    assert wrong == [200] * LOGIN_LIMIT  # the form again, with its error
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Client().get("/admin/login/").status_code == 200  # the page itself still shows


def test_admin_login_is_limited_per_username_and_shares_the_api_login_limit(user: User) -> None:
    half = LOGIN_LIMIT // 2
    for i in range(half):
        assert admin_login(user.username, "wrong", REMOTE_ADDR=f"203.0.113.{i}").status_code == 200
        assert api_login(user.username, "wrong", REMOTE_ADDR=f"203.0.113.{100 + i}").status_code == 401
    assert admin_login(user.username, DEFAULT_PASSWORD, REMOTE_ADDR="203.0.113.250").status_code == 429
    assert api_login(user.username, DEFAULT_PASSWORD, REMOTE_ADDR="203.0.113.251").status_code == 429


def test_admin_login_still_logs_in_under_the_limit(user: User) -> None:
    user.is_staff = True
    user.save()
    response = admin_login(user.username, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("remote_addr", "forwarded", "expected"),
    [
        ("203.0.113.5", "", "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not a trusted proxy: the header is ignored
        ("10.0.0.2", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # through two trusted proxies
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "203.0.113.9, not-an-address", "10.0.0.2"),  # unreadable: the proxy that passed it on
        ("2001:db8:1:2:aaaa::1", "", "2001:db8:1:2::/64"),  # one IPv6 subscriber, one client
        ("2001:db8:1:2:bbbb::9", "", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", "", "203.0.113.5"),
    ],
)
def test_client_address_believes_forwarded_headers_only_from_trusted_proxies(
    rf, settings, remote_addr: str, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]
    request = rf.get("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
