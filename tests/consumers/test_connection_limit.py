"""The socket's connection limit (issue 14, item 10) lifts after a minute, on both caches. Before, the counter's
expiry was rewritten to the cache's default 300 s on every connection, so someone who switches chats often (each
switch opens a socket) stayed locked out with 4429. Passes once the consumer counts with core.rate_window."""

import pytest
from channels.db import database_sync_to_async

from consumers.protocol import CLOSE_RATE_LIMITED
from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession
from realtime_chat.core import rate_window
from tests.consumers.test_chat import access_token, open_socket

REDIS_CACHE = "realtime_chat.core.cache_backends.SharedRedisCache"  # the product's, as settings.py sets it

pytestmark = pytest.mark.django_db(transaction=True)
PER_MINUTE = 60


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request: pytest.FixtureRequest, settings) -> str:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": url}}
    from django.core.cache import cache

    cache.clear()
    return request.param


@pytest.fixture
def session(user: User) -> ChatSession:
    return ChatSession.objects.create(owner=user, title="switching chats")


async def connection_outcome(user: User, session: ChatSession) -> str:
    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(user)})
    output = await socket.receive_output(timeout=30)
    if output["type"] == "websocket.close":
        return f"closed {output['code']}"
    await socket.disconnect()
    return "ready"


@pytest.mark.usefixtures("cache_backend")
async def test_sixty_connections_then_4429_and_a_minute_later_sixty_more(
    session: ChatSession, user: User, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CHAT_CONNECTIONS_PER_MINUTE = PER_MINUTE
    moment = [1_800_000_000.0]  # the start of a window
    monkeypatch.setattr(rate_window, "now", lambda: moment[0])
    for _minute in range(2):
        outcomes = [await connection_outcome(user, session) for _ in range(PER_MINUTE + 1)]
        assert outcomes == ["ready"] * PER_MINUTE + [f"closed {CLOSE_RATE_LIMITED}"]
        moment[0] += 60
