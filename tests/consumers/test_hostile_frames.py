"""Hostile frames on the chat socket (issue 14, item 6): each is answered with an error frame, nothing is saved,
and the socket stays usable. Before, a deeply nested frame killed the consumer (close 1011) and a lone surrogate
in a message got no answer at all (the turn's task died on saving it)."""

import pytest
from channels.db import database_sync_to_async

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message
from tests.consumers.test_chat import access_token, authed_socket, open_socket, receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(user: User) -> ChatSession:
    return ChatSession.objects.create(owner=user, title="hostile frames")


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (deep(40_000), "invalid_json"),  # within the size cap: its nesting is what is refused
        ('{"type": "message", "content": ' + deep(1000) + "}", "invalid_json"),
        ('{"type": "message", "content": "' + "x" * 2_600_000 + '"}', "frame_too_large"),
        ('{"type": "message", "content": "a\\ud800b"}', "invalid_characters"),
        ('{"type": "message", "content": "a\\u0000b"}', "invalid_characters"),
        ('{"type": "message", "content": "fine", "\\udc00": 1}', "invalid_characters"),
        ('{"type": "auth", "token": "\\u0000"}', "invalid_characters"),
        ('{"type": "ping", "n": NaN}', "invalid_json"),
    ],
    ids=["deep", "deep-content", "2.6-MB", "lone-surrogate", "nul", "surrogate-key", "nul-token", "nan"],
)
async def test_hostile_frames_get_an_error_frame_and_the_socket_stays_usable(
    session: ChatSession, user: User, raw: str, code: str
) -> None:
    socket = await authed_socket(user, session.pk)
    await socket.send_to(text_data=raw)
    error = await receive(socket)
    assert error["type"] == "error" and error["code"] == code, error
    assert error["detail"] and len(error["detail"]) < 200  # readable, and never the client's text sent back
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    assert not await database_sync_to_async(Message.objects.exists)()
    await socket.disconnect()


async def test_a_frame_of_the_longest_message_is_not_too_large(session: ChatSession, user: User, settings) -> None:
    """The frame cap leaves room for the longest message, each character escaped as a surrogate pair."""
    settings.CHAT_MAX_MESSAGE_CHARS = 100
    socket = await authed_socket(user, session.pk)
    await socket.send_to(text_data='{"type": "message", "content": "' + "\\ud83d\\ude00" * 101 + '"}')
    error = await receive(socket)
    assert error["code"] == "message_too_long", error  # the message's own limit, not the frame's
    await socket.disconnect()


async def test_a_hostile_first_frame_is_answered_and_the_socket_can_still_authenticate(
    session: ChatSession, user: User
) -> None:
    socket = await open_socket(session.pk)
    await socket.send_to(text_data=deep(40_000))
    assert (await receive(socket))["code"] == "invalid_json"
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(user)})
    assert (await receive(socket))["type"] == "ready"
    await socket.disconnect()
