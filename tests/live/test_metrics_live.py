"""Two real daphne processes sharing PROMETHEUS_MULTIPROC_DIR, the real local model: a turn answered by one and a
turn refused for the budget by the other (over SSE) are both in the /metrics that either process serves."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.models import ChatSession
from realtime_chat.chat.services.chat import preferences_update, session_create
from tests.servers import DaphneServer, LocalModelServer, database_url

pytestmark = [pytest.mark.live_server, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
TIMEOUT = 120


@pytest.fixture
def two_processes(
    transactional_db: None, chat_model: LocalModelServer, tmp_path: Path
) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "CHAT_DAILY_TOKEN_BUDGET": "1", "METRICS_TOKEN": ""}
    database = database_url(connection.settings_dict)
    first = DaphneServer(database=database, ollama_host=chat_model.url, env=env)
    second = DaphneServer(database=database, ollama_host=chat_model.url, env=env)
    yield first, second
    for server in (first, second):
        server.stop()


def value(metrics: str, name: str, **labels: str) -> float:
    """The sample of `name` whose labels include `labels` (summed if several match)."""
    total = 0.0
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{key}="{wanted}"' in match.group(1) for key, wanted in labels.items()):
            total += float(match.group(2))
    return total


def test_either_process_reports_both_and_the_budget_refusal_reaches_sse(
    two_processes: tuple[DaphneServer, DaphneServer], user: User
) -> None:
    first, second = two_processes
    preferences_update(user=user, max_tokens=8, use_rag=False, temperature=0.0)
    session: ChatSession = session_create(user=user)
    headers = {"Authorization": f"Bearer {token_pair_issue(user=user)['access']}"}
    url = f"/api/sessions/{session.pk}/messages/"

    with httpx.Client(base_url=first.url, headers=headers, timeout=TIMEOUT) as client:
        answered = client.post(url, json={"content": "Hello!"})
    assert answered.status_code == 201, answered.text
    sse = {**headers, "Accept": "text/event-stream"}
    with httpx.stream("POST", second.url + url, json={"content": "Again?"}, headers=sse, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [event["type"] for event in events] == ["message.created", "error"]
    assert events[1]["code"] == "budget_exceeded" and events[1]["resets_at"]

    metrics = httpx.get(second.url + "/metrics", timeout=TIMEOUT).text  # the second process answers for both
    model = answered.json()["model"]
    assert value(metrics, "rc_chat_turns_total", model=model, status="complete") == 1.0  # counted by the first
    assert value(metrics, "rc_chat_turns_refused_total", code="budget_exceeded") == 1.0  # by the second
    route = "/api/sessions/<int:session_id>/messages/"
    assert value(metrics, "rc_http_requests_total", route=route, method="POST") == 2.0
    assert user.username not in metrics
