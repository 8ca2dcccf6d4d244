"""Health endpoints report each dependency for real; a required failure is a 503. Anyone sees whether each check
passed; what it found (hosts, exception text) only staff and HEALTH_TOKEN holders."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.core import health
from tests.factories import UserFactory

REDIS_CACHE = "realtime_chat.core.cache_backends.SharedRedisCache"  # the product's, as settings.py sets it

pytestmark = pytest.mark.django_db

FOUNDATION_CHECKS = {"database", "cache", "channel_layer", "task_queue"}
HEALTH_TOKEN = "monitor-secret-0123456789"


@pytest.fixture(autouse=True)
def _health_token(settings) -> None:
    settings.HEALTH_TOKEN = HEALTH_TOKEN


@pytest.fixture
def monitor() -> APIClient:
    """A client that sees what each check found."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {HEALTH_TOKEN}")
    return client


def bearer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_live_is_public_and_ok(api_client: APIClient) -> None:
    response = api_client.get(reverse("health-live"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_reports_every_foundation_check(monitor: APIClient) -> None:
    response = monitor.get(reverse("health"))
    body = response.json()
    assert set(body["checks"]) >= FOUNDATION_CHECKS
    for name in FOUNDATION_CHECKS:
        check = body["checks"][name]
        assert check["ok"] is True, (name, check)
        assert check["latency_ms"] >= 0
        assert check["message"]


def test_unreachable_cache_makes_the_service_down(monitor: APIClient, settings) -> None:
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": "redis://127.0.0.1:1/0"}}
    response = monitor.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["cache"]["ok"] is False
    assert "Connection" in body["checks"]["cache"]["message"]
    assert body["checks"]["database"]["ok"] is True


@pytest.fixture
def failing_optional_check():
    def always_fails() -> str:
        raise RuntimeError("optional part offline")

    health.register("optional_part", required=False)(always_fails)
    yield
    health._registry.pop("optional_part")


@pytest.mark.usefixtures("failing_optional_check")
def test_optional_failure_is_degraded_not_down(monitor: APIClient) -> None:
    response = monitor.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["optional_part"]["message"] == "RuntimeError: optional part offline"


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
def test_llm_check_sees_the_real_model_server(monitor: APIClient) -> None:
    check = monitor.get(reverse("health")).json()["checks"]["llm"]
    assert check["ok"] is True
    assert "smollm2:135m" in check["message"]


def test_no_model_server_is_degraded_not_down(monitor: APIClient, settings) -> None:
    from tests.servers import free_port

    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.OLLAMA_FALLBACK_HOST = ""
    body = monitor.get(reverse("health")).json()
    assert body["checks"]["llm"]["ok"] is False
    assert "no model server reachable" in body["checks"]["llm"]["message"]
    assert body["checks"]["llm"]["required"] is False


# --- who sees what (issue 14, item 11) ----------------------------------------------------------


def test_the_public_summary_says_only_whether_each_check_passed(api_client: APIClient, settings) -> None:
    """Before, anyone read the hosts of the database, Redis and model server, and exceptions' text."""
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": "redis://127.0.0.1:1/0"}}
    response = api_client.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["cache"] == {"ok": False, "required": True}
    assert all(set(check) == {"ok", "required"} for check in body["checks"].values())
    assert "127.0.0.1" not in response.content.decode() and "Error" not in response.content.decode()


@pytest.mark.parametrize("token", ["wrong-token", "not.a.jwt", ""])
def test_a_wrong_token_gets_the_public_summary_not_an_error(token: str) -> None:
    response = bearer_client(token).get(reverse("health"))
    assert response.status_code in (200, 503)
    assert all(set(check) == {"ok", "required"} for check in response.json()["checks"].values())


def test_without_a_health_token_configured_a_bearer_of_nothing_sees_nothing(settings) -> None:
    settings.HEALTH_TOKEN = ""
    response = bearer_client("").get(reverse("health"))
    assert "message" not in response.json()["checks"]["database"]


@pytest.mark.parametrize(("is_staff", "sees"), [(True, True), (False, False)])
def test_staff_see_details_by_access_token(is_staff: bool, sees: bool) -> None:
    token = token_pair_issue(user=UserFactory(is_staff=is_staff))["access"]
    check = bearer_client(token).get(reverse("health")).json()["checks"]["database"]
    assert ("message" in check) is sees
    if sees:
        assert check["message"] and check["latency_ms"] >= 0


def test_staff_logged_in_to_the_admin_see_details() -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("health")).json()["checks"]["database"]["message"]
