"""Fixtures shared by the whole suite."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from tests.factories import UserFactory
from tests.servers import MODEL_NAME, LocalModelServer


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters and circuit breakers live in the cache; each test starts clean."""
    cache.clear()


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def stranger(db: None) -> User:
    """Another user, whose objects the first must never see."""
    return UserFactory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


@pytest.fixture
def redis_url() -> str:
    """The Redis the suite may use; tests that need one skip, visibly, where none is reachable."""
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url:
        pytest.skip("no Redis reachable (set TEST_REDIS_URL or run Redis on 127.0.0.1:6379)")
    return url


@pytest.fixture(scope="session")
def model_server() -> Iterator[LocalModelServer]:
    """One real local model server (llama.cpp serving SmolLM2 over the Ollama API) for the whole run."""
    server = LocalModelServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_server(model_server: LocalModelServer) -> LocalModelServer:
    """The suite's one real model server (above); tests share it one generation at a time."""
    return model_server


@pytest.fixture
def doomed_server() -> Iterator[LocalModelServer]:
    """A second server process of the test's own, free to be killed."""
    server = LocalModelServer()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def chat_model(model_server: LocalModelServer, settings) -> LocalModelServer:
    """Point the product's Ollama settings at the real local model server."""
    settings.OLLAMA_HOST = model_server.url
    settings.OLLAMA_MODEL = MODEL_NAME
    settings.OLLAMA_FALLBACK_HOST = ""
    settings.OPENAI_COMPAT_URL = ""
    return model_server


@pytest.fixture
def isolated_rag_storage(settings, tmp_path: Path) -> None:
    """A media root of the test's own, and no index snapshot cached from another test."""
    from rag.ingestion.index import snapshot_cache_clear

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RAG_INDEX_REFRESH_IN_BACKGROUND = False  # a thread of its own would not see the test's transaction
    snapshot_cache_clear()


@pytest.fixture(autouse=True)
def _channel_layer_of_this_test() -> Iterator[None]:
    """Each test runs on an event loop of its own, and the Redis channel layer keeps per-loop state (its receive
    lock and buffers): a layer left from an earlier test's loop made a later test's teardown wait forever."""
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    yield
    channel_layers.backends.pop("default", None)
