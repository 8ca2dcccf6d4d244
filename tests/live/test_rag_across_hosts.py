"""Indexes from the database on every host: two real daphne processes with VAR_DIRs and media roots of their own
(no shared disk) on PostgreSQL + Redis. A document uploaded to one is found through the other within the check
interval, and a deletion through the second is seen by the first. Runs where PostgreSQL and Redis answer."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from realtime_chat.accounts.services import token_pair_issue
from tests.factories import UserFactory
from tests.servers import DaphneServer, database_url, free_port

pytestmark = [pytest.mark.live_server, pytest.mark.embeddings, pytest.mark.django_db(transaction=True)]
CHECK_INTERVAL_MS = 300
DEADLINE_SECONDS = 60  # the interval plus a delta applied on a busy two-core machine
TEXT = "The Rottnest Island quokka census counted 12,000 quokkas in 2024; most live near the salt lakes."


@pytest.fixture
def two_hosts(transactional_db: None, tmp_path: Path) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the second pass of make test, where they answer)")
    servers = []
    for name in ("first", "second"):
        var_dir = tmp_path / name
        servers.append(
            DaphneServer(
                database=database_url(connection.settings_dict),
                ollama_host=f"http://127.0.0.1:{free_port()}",  # no generation here
                env={
                    "VAR_DIR": str(var_dir),
                    "MEDIA_ROOT": str(var_dir / "media"),
                    "RAG_INDEX_CHECK_INTERVAL_MS": str(CHECK_INTERVAL_MS),
                    "RAG_MODEL_CACHE_DIR": str(settings.RAG_MODEL_CACHE_DIR),  # exported once, not per host
                },
            )
        )
    yield servers[0], servers[1]
    for server in servers:
        server.stop()


def search(server: DaphneServer, token: str, query: str) -> list[dict]:
    response = httpx.post(
        f"{server.url}/api/rag/search/",
        json={"query": query, "top_k": 5},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def index_health(server: DaphneServer, token: str) -> str:
    """The server's own account of its index (staff see the health checks' messages)."""
    response = httpx.get(f"{server.url}/api/health/", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return response.json()["checks"]["vector_index"]["message"]


def seconds_until(condition: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < DEADLINE_SECONDS, "the other host never caught up"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_document_ingested_through_one_host_is_found_through_the_other(
    two_hosts: tuple[DaphneServer, DaphneServer], tmp_path: Path
) -> None:
    first, second = two_hosts
    token = token_pair_issue(user=UserFactory(is_staff=True))["access"]  # staff: the health details too
    assert search(second, token, "quokka census") == []  # the second host has built its (empty) index already
    response = httpx.post(
        f"{first.url}/api/documents/",
        files={"file": ("census.txt", TEXT.encode(), "text/plain")},
        data={"title": "Quokka census"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    assert [r["document_id"] for r in search(first, token, "quokka census")] == [document_id]

    def second_finds_it() -> bool:
        return [r["document_id"] for r in search(second, token, "how many quokkas were counted?")] == [document_id]

    seconds_until(second_finds_it)
    assert list((tmp_path / "first" / "media").rglob("*.txt")) and not (tmp_path / "second" / "media").exists()
    assert ": 1 vectors" in index_health(second, token)

    deleted = httpx.delete(
        f"{second.url}/api/documents/{document_id}/", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert deleted.status_code == 204
    assert search(first, token, "quokka census") == []  # gone at once: only existing documents are searched
    seconds_until(lambda: ": 0 vectors" in index_health(first, token))  # and its vectors leave the first host
