"""/metrics: who may scrape it, what it counts (by model and provider, never by user), across processes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from config.asgi import application
from rag.models import Document
from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession
from realtime_chat.chat.services.chat import assistant_message_finish, assistant_message_start
from realtime_chat.llm.circuit_breaker import CircuitBreaker
from tests.realtime_chat.analytics.conftest import real_turn

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: APIClient, **extra: str) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_a_loopback_scraper_gets_metrics_without_a_token(api_client: APIClient) -> None:
    api_client.get(reverse("models"))  # a request to count (401: no token)
    text = scrape(api_client)
    assert 'rc_http_requests_total{method="GET",route="/api/models/",status="4xx"}' in text
    assert "rc_chat_generations_in_progress 0.0" in text


@pytest.mark.parametrize(
    "extra",
    [{"REMOTE_ADDR": "203.0.113.9"}, {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, {"HTTP_FORWARDED": "for=203.0.113.9"}],
)
def test_anyone_else_is_refused_without_a_token(api_client: APIClient, extra: dict) -> None:
    response = api_client.get("/metrics", **extra)
    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.json()["detail"]


def test_with_a_token_only_its_bearer_gets_metrics_from_anywhere(api_client: APIClient, settings) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    for header in ["", "Bearer wrong", "Basic s3cret-scrape-token", "Bearer s3cret-scrape-token-2"]:
        refused = api_client.get("/metrics", HTTP_AUTHORIZATION=header)
        assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
        assert refused.json()["detail"]
    scrape(api_client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", REMOTE_ADDR="203.0.113.9")


def test_only_get_is_allowed(api_client: APIClient) -> None:
    assert api_client.post("/metrics").status_code == 405


def test_a_finished_turn_is_counted_by_model_and_provider_never_by_user(api_client: APIClient, user: User) -> None:
    session = ChatSession.objects.create(owner=user, title="secret title")
    labels = {"model": "tiny:1b", "provider": "local-test"}
    before = sample("rc_chat_turns_total", **labels, status="complete")
    answer = assistant_message_start(session=session, model="tiny:1b", provider="local-test", fallback_from=[])
    assistant_message_finish(message=answer, content="Hi", status="complete", prompt_tokens=7, completion_tokens=3,
                             first_token_ms=120, total_ms=400)  # fmt: skip

    assert sample("rc_chat_turns_total", **labels, status="complete") == before + 1
    assert sample("rc_chat_tokens_total", **labels, kind="completion") >= 3
    assert sample("rc_chat_time_to_first_token_seconds_count", **labels) >= 1
    text = scrape(api_client)
    assert user.username not in text and "secret title" not in text
    assert 'rc_chat_turns_total{model="tiny:1b",provider="local-test",status="complete"}' in text


@pytest.mark.llm
@pytest.mark.django_db(transaction=True)  # the turn reaches the database from another thread
@pytest.mark.usefixtures("chat_model")
def test_a_real_turn_shows_in_the_turn_and_token_metrics(auth_client: APIClient, session: ChatSession) -> None:
    labels = {"model": "smollm2:135m", "provider": "ollama"}
    before = sample("rc_chat_turns_total", **labels, status="complete")
    answer = real_turn(auth_client, session, "Hello!")
    labels["provider"] = answer["provider"]
    assert sample("rc_chat_turns_total", **labels, status="complete") >= before + 1
    assert sample("rc_chat_tokens_total", **labels, kind="completion") >= answer["completion_tokens"] > 0
    assert sample("rc_chat_time_to_first_token_seconds_count", **labels) >= 1


def test_database_gauges_tell_the_deployments_state(api_client: APIClient, user: User) -> None:
    ChatSession.objects.create(owner=user, generating_since=timezone.now())
    Document.objects.create(owner=user, title="t", kind="txt", size_bytes=1, sha256="1" * 64)
    text = scrape(api_client)
    assert "rc_chat_generations_in_progress 1.0" in text
    assert 'rc_rag_documents{status="pending"} 1.0' in text


def test_a_breaker_trip_is_counted_for_prometheus_and_for_the_insights_page() -> None:
    from asgiref.sync import async_to_sync

    breaker = CircuitBreaker(cooldown_seconds=5)
    before = sample("rc_llm_circuit_breaker_trips_total", model="m", provider="flaky")
    async_to_sync(breaker.trip)("flaky", "m", "timeout")
    async_to_sync(breaker.trip)("flaky", "m", "timeout")
    assert sample("rc_llm_circuit_breaker_trips_total", model="m", provider="flaky") == before + 2
    assert breaker.trips("flaky") == 2 and breaker.trips("steady") == 0


@pytest.mark.django_db(transaction=True)
async def test_websocket_connections_are_counted() -> None:
    opened = sample("rc_websocket_connections_opened_total")
    socket = WebsocketCommunicator(application, "/ws/chat/1/", headers=[(b"origin", b"http://testserver")])
    connected, _ = await socket.connect()
    assert connected
    assert sample("rc_websocket_connections_opened_total") == opened + 1
    assert sample("rc_websocket_connections") >= 1
    await socket.disconnect()


WRITER = """
from realtime_chat.core.metrics import TURNS
TURNS.labels(model="m", provider="p", status="complete").inc({count})
"""


def test_several_processes_are_summed_in_multiprocess_mode(
    api_client: APIClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What several daphne processes do with PROMETHEUS_MULTIPROC_DIR: each writes, any one answers for all."""
    for count in (2, 3):
        env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-c", WRITER.format(count=count)], cwd=ROOT, env=env, check=True)  # noqa: S603
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = scrape(api_client)
    assert 'rc_chat_turns_total{model="m",provider="p",status="complete"} 5.0' in text


def test_the_grafana_dashboard_reads_only_metrics_that_exist(api_client: APIClient) -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana" / "realtime-chat.json").read_text())
    names = {
        name.removesuffix("_bucket")
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\brc_[a-z_]+", target["expr"])
    }
    text = scrape(api_client)
    assert len(names) >= 12
    assert [name for name in sorted(names) if f"# TYPE {name}" not in text and f"\n{name}" not in text] == []
