"""The socket's Origin check (issue 14, item 7): pages of other sites are refused, clients that are no browser
(no Origin header: a script, a mobile app) are accepted and authenticate like any other. Before, a handshake
without Origin got a bare HTTP 403."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession
from tests.consumers.test_chat import access_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(user: User) -> ChatSession:
    return ChatSession.objects.create(owner=user, title="origins")


def socket_for(session: ChatSession, headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/chat/{session.pk}/", headers=headers)


async def test_a_client_without_origin_connects_and_authenticates(session: ChatSession, user: User) -> None:
    socket = socket_for(session, headers=[])
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(user)})
    assert (await socket.receive_json_from(timeout=10))["type"] == "ready"
    await socket.disconnect()


@pytest.mark.parametrize("origin", [b"http://testserver", b"http://localhost:8000", b"https://127.0.0.1"])
async def test_pages_of_this_site_connect(session: ChatSession, origin: bytes) -> None:
    socket = socket_for(session, headers=[(b"origin", origin)])
    connected, _ = await socket.connect()
    assert connected
    await socket.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", b"https://testserver.evil.example", b"null", b""])
async def test_pages_of_other_sites_are_refused(session: ChatSession, origin: bytes) -> None:
    socket = socket_for(session, headers=[(b"origin", origin)])
    connected, _ = await socket.connect()
    assert not connected
