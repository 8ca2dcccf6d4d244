"""Health endpoints report each dependency for real; a required failure is a 503."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.core import health

pytestmark = pytest.mark.django_db

FOUNDATION_CHECKS = {"database", "cache", "channel_layer", "task_queue"}


def test_live_is_public_and_ok(api_client: APIClient) -> None:
    response = api_client.get(reverse("health-live"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_reports_every_foundation_check(api_client: APIClient) -> None:
    response = api_client.get(reverse("health"))
    body = response.json()
    assert set(body["checks"]) >= FOUNDATION_CHECKS
    for name in FOUNDATION_CHECKS:
        check = body["checks"][name]
        assert check["ok"] is True, (name, check)
        assert check["latency_ms"] >= 0
        assert check["message"]


def test_unreachable_cache_makes_the_service_down(api_client: APIClient, settings) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = api_client.get(reverse("health"))
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
def test_optional_failure_is_degraded_not_down(api_client: APIClient) -> None:
    response = api_client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["optional_part"]["message"] == "RuntimeError: optional part offline"


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
def test_llm_check_sees_the_real_model_server(api_client: APIClient) -> None:
    check = api_client.get(reverse("health")).json()["checks"]["llm"]
    assert check["ok"] is True
    assert "smollm2:135m" in check["message"]


def test_no_model_server_is_degraded_not_down(api_client: APIClient, settings) -> None:
    from tests.servers import free_port

    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.OLLAMA_FALLBACK_HOST = ""
    body = api_client.get(reverse("health")).json()
    assert body["checks"]["llm"]["ok"] is False
    assert "no model server reachable" in body["checks"]["llm"]["message"]
    assert body["checks"]["llm"]["required"] is False
