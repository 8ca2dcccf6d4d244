"""The chat socket through the real ASGI application (origin check, JWT middleware, router, consumer), the real
database and the real local model. Every frame received is checked against its schema."""

import asyncio
import unittest.mock
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from consumers.protocol import CLOSE_NOT_FOUND, CLOSE_RATE_LIMITED, CLOSE_UNAUTHENTICATED
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.frames import check_server_frame
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import preferences_update, session_create
from realtime_chat.core import rate_window

pytestmark = pytest.mark.django_db(transaction=True)
ANY_TEXT = unittest.mock.ANY  # compares equal to the human-readable detail, whatever its wording
TIMEOUT = 180  # an upper bound: the tiny model on two busy cores can take long over a prompt with passages


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=24, use_rag=False, temperature=0.0)
    return session_create(user=user)


def access_token(user: User) -> str:
    return token_pair_issue(user=user)["access"]


async def open_socket(session_id: int, query: str = "") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application, f"/ws/chat/{session_id}/{query}", headers=[(b"origin", b"http://testserver")]
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


async def authed_socket(user: User, session_id: int) -> WebsocketCommunicator:
    socket = await open_socket(session_id)
    token = await database_sync_to_async(access_token)(user)
    await socket.send_json_to({"type": "auth", "token": token})
    ready = await receive(socket)
    expected = {"type": "ready", "session_id": session_id, "user": user.username}
    assert ready == {**expected, "expires_in": ready["expires_in"]}
    assert 0 < ready["expires_in"] <= 300  # the access token's remaining life (JWT_ACCESS_MINUTES)
    return socket


async def receive(socket: WebsocketCommunicator, *, presence: bool = False) -> dict:
    """The next frame, checked against its schema; `presence` frames (after every `ready`, on every change of who
    is online) are checked and passed over unless asked for."""
    while True:
        frame = await socket.receive_json_from(timeout=TIMEOUT)
        check_server_frame(frame)
        if presence or frame["type"] != "presence":
            return frame


async def receive_turn(socket: WebsocketCommunicator) -> list[dict]:
    frames = [await receive(socket)]
    while frames[-1]["type"] != "assistant.end":
        frames.append(await receive(socket))
    return frames


async def closed_with(socket: WebsocketCommunicator) -> int:
    output = await socket.receive_output(timeout=TIMEOUT)
    assert output["type"] == "websocket.close", output
    return output["code"]


# --- authentication and scope -------------------------------------------------------------------


async def test_no_auth_frame_in_time_closes_4401(session: ChatSession, settings) -> None:
    settings.CHAT_AUTH_TIMEOUT_SECONDS = 0.2
    socket = await open_socket(session.pk)
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize("token", ["", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.forged"])
async def test_invalid_token_in_auth_frame_closes_4401(session: ChatSession, token: str) -> None:
    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "auth", "token": token})
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


async def test_an_open_socket_has_no_task_waiting_on_the_channel_layer(session: ChatSession, user: User) -> None:
    """A socket's events come through `core.fanout`: nothing of it idles on the channel layer (on channels_redis
    that receive loop sometimes ignored its cancellation and held a closing event loop forever)."""
    socket = await authed_socket(user, session.pk)
    on_the_layer = [t for t in asyncio.all_tasks() if "ChannelLayer.receive" in t.get_coro().__qualname__]
    assert on_the_layer == []
    await socket.disconnect()


async def test_first_frame_that_is_not_auth_closes_4401(session: ChatSession) -> None:
    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "message", "content": "hi"})
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED
    assert not await database_sync_to_async(Message.objects.exists)()


async def test_expired_token_closes_4401(session: ChatSession, user: User) -> None:
    def expired_token() -> str:
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(seconds=-1))
        return str(token)

    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(expired_token)()})
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


def short_lived_token(user: User, seconds: float) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=seconds))
    return str(token)


async def test_socket_closes_4401_when_its_token_expires(session: ChatSession, user: User) -> None:
    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(short_lived_token)(user, 2)})
    assert (await receive(socket))["expires_in"] <= 2
    assert await receive(socket) == {"type": "error", "code": "token_expired", "detail": ANY_TEXT}
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


async def test_query_string_token_expires_too(session: ChatSession, user: User) -> None:
    token = await database_sync_to_async(short_lived_token)(user, 2)
    socket = await open_socket(session.pk, f"?token={token}")
    assert (await receive(socket))["type"] == "ready"
    assert (await receive(socket))["code"] == "token_expired"
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


async def test_an_auth_frame_with_a_newer_token_renews_the_socket(session: ChatSession, user: User) -> None:
    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(short_lived_token)(user, 2)})
    await receive(socket)
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(user)})
    renewed = await receive(socket)
    assert renewed["type"] == "auth.renewed" and renewed["expires_in"] > 200
    await asyncio.sleep(3)  # past the first token's expiry
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


@pytest.mark.parametrize("whose", ["stranger", "forged"])
async def test_renewal_with_a_bad_token_is_refused_and_the_login_holds(
    session: ChatSession, user: User, stranger: User, whose: str
) -> None:
    socket = await authed_socket(user, session.pk)
    token = await database_sync_to_async(access_token)(stranger) if whose == "stranger" else "forged"
    await socket.send_json_to({"type": "auth", "token": token})
    assert (await receive(socket))["code"] == "invalid_token"
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


async def test_query_string_token_authenticates(session: ChatSession, user: User) -> None:
    token = await database_sync_to_async(access_token)(user)
    socket = await open_socket(session.pk, f"?token={token}")
    assert (await receive(socket))["type"] == "ready"
    await socket.disconnect()


async def test_strangers_session_and_missing_session_close_the_same_way(session: ChatSession, stranger: User) -> None:
    strangers_socket = await open_socket(session.pk)
    await strangers_socket.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(stranger)})
    assert await closed_with(strangers_socket) == CLOSE_NOT_FOUND
    for missing_id in (session.pk + 1000, 2**128 - 1):  # the second is beyond any integer column
        missing = await open_socket(missing_id)
        await missing.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(stranger)})
        assert await closed_with(missing) == CLOSE_NOT_FOUND


async def test_too_many_connections_a_minute_close_4429(
    session: ChatSession, user: User, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CHAT_CONNECTIONS_PER_MINUTE = 2
    moment = rate_window.now()
    monkeypatch.setattr(rate_window, "now", lambda: moment)  # all three in one window, even across a minute's end
    for _ in range(2):
        socket = await authed_socket(user, session.pk)
        await socket.disconnect()
    socket = await open_socket(session.pk)
    await socket.send_json_to({"type": "auth", "token": await database_sync_to_async(access_token)(user)})
    assert await closed_with(socket) == CLOSE_RATE_LIMITED


# --- bad frames keep the socket usable ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ('["a list"]', "invalid_frame"),
        ('{"type": "dance"}', "invalid_frame"),
        ('{"type": "message"}', "invalid_frame"),
        ('{"type": "message", "content": 42}', "invalid_frame"),
        ('{"type": "message", "content": "hi", "client_id": "nope"}', "invalid_frame"),
        ('{"type": "message", "content": "   "}', "invalid_message"),
    ],
)
async def test_bad_frames_get_an_error_frame_and_the_socket_stays_usable(
    session: ChatSession, user: User, raw: str, code: str
) -> None:
    socket = await authed_socket(user, session.pk)
    await socket.send_to(text_data=raw)
    error = await receive(socket)
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["detail"]
    assert "client_id" not in error  # no message of the client's to point at
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


async def test_too_long_message_is_refused_and_nothing_is_saved(session: ChatSession, user: User, settings) -> None:
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    socket = await authed_socket(user, session.pk)
    client_id = str(uuid.uuid4())
    await socket.send_json_to({"type": "message", "content": "x" * 11, "client_id": client_id})
    error = await receive(socket)
    assert (error["code"], error["client_id"]) == ("message_too_long", client_id)
    assert not await database_sync_to_async(Message.objects.exists)()
    await socket.disconnect()


async def test_message_rate_limit_is_an_error_frame(session: ChatSession, user: User, settings) -> None:
    settings.CHAT_MESSAGES_PER_MINUTE = 0
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "hello"})
    assert (await receive(socket))["code"] == "rate_limited"
    await socket.disconnect()


# --- a turn with the real model -----------------------------------------------------------------


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_a_turn_streams_tokens_and_persists_both_messages(session: ChatSession, user: User) -> None:
    socket = await authed_socket(user, session.pk)
    client_id = str(uuid.uuid4())
    await socket.send_json_to({"type": "message", "content": "Say hello in one word.", "client_id": client_id})
    frames = await receive_turn(socket)

    kinds = [f["type"] for f in frames]
    assert kinds[:2] == ["message.created", "assistant.start"]
    assert kinds[-1] == "assistant.end"
    assert set(kinds[2:-1]) == {"token"}, kinds
    created, start, end = frames[0], frames[1], frames[-1]
    assert created["client_id"] == client_id
    assert created["message"]["content"] == "Say hello in one word."
    assert start["provider"] == "ollama" and start["model"] == "smollm2:135m"
    streamed = "".join(f["delta"] for f in frames if f["type"] == "token")
    assert streamed.strip()
    assert end["message"]["content"] == streamed
    assert end["message"]["status"] == "complete"
    assert end["usage"]["completion_tokens"] > 0
    assert end["usage"]["prompt_tokens"] > 0

    messages = await database_sync_to_async(lambda: list(session.messages.order_by("id")))()
    assert [(m.role, m.status) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[1].content == streamed
    assert messages[1].first_token_ms is not None and messages[1].total_ms >= messages[1].first_token_ms
    refreshed = await database_sync_to_async(ChatSession.objects.get)(pk=session.pk)
    assert refreshed.title == "Say hello in one word."
    assert refreshed.generating_since is None
    await socket.disconnect()


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_two_tabs_receive_the_same_stream(session: ChatSession, user: User) -> None:
    first, second = await authed_socket(user, session.pk), await authed_socket(user, session.pk)
    await first.send_json_to({"type": "message", "content": "Count to three."})
    first_frames, second_frames = await asyncio.gather(receive_turn(first), receive_turn(second))
    assert first_frames == second_frames
    await first.disconnect()
    await second.disconnect()


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_a_second_message_while_streaming_is_refused(session: ChatSession, user: User) -> None:
    preferences_update_async = database_sync_to_async(preferences_update)
    await preferences_update_async(user=user, max_tokens=60)
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Write a long story about a dragon."})
    assert (await receive(socket))["type"] == "message.created"
    await socket.send_json_to({"type": "message", "content": "And another one."})
    frames = await receive_turn(socket)
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["session_busy"]
    contents = await database_sync_to_async(lambda: list(session.messages.values_list("content", flat=True)))()
    assert "And another one." not in contents
    await socket.disconnect()


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_stop_keeps_the_partial_answer_as_cancelled(session: ChatSession, user: User) -> None:
    await database_sync_to_async(preferences_update)(user=user, max_tokens=400)
    watcher, socket = await authed_socket(user, session.pk), await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Write a long story about a dragon."})
    frame = await receive(socket)
    while frame["type"] != "token":
        frame = await receive(socket)
    await watcher.send_json_to({"type": "stop"})  # from the other tab
    frames = await receive_turn(socket)
    end = frames[-1]
    assert end["message"]["status"] == "cancelled"
    assert end["message"]["content"]
    assert end["message"]["completion_tokens"] is None or end["message"]["completion_tokens"] < 400
    saved = await database_sync_to_async(Message.objects.get)(pk=end["message"]["id"])
    assert saved.status == "cancelled" and saved.content == end["message"]["content"]
    await socket.disconnect()
    await watcher.disconnect()


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_stop_before_the_model_answers_still_ends_the_turn(session: ChatSession, user: User) -> None:
    """A stop that lands before `assistant.start` used to leave the client waiting for an end that never came."""
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Write a long story about a dragon."})
    assert (await receive(socket))["type"] == "message.created"
    await socket.send_json_to({"type": "stop"})
    end = (await receive_turn(socket))[-1]
    assert end["message"]["status"] == "cancelled"
    await socket.send_json_to({"type": "message", "content": "Say hello."})  # the session is free again
    assert (await receive_turn(socket))[-1]["message"]["status"] == "complete"
    await socket.disconnect()


async def saved_answer(session: ChatSession, *, within: float = TIMEOUT) -> Message:
    """The session's answer once it is no longer streaming (it runs on in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        answer = await database_sync_to_async(session.messages.get)(role="assistant")
        if answer.status != "streaming" or loop.time() > deadline:
            return answer
        await asyncio.sleep(0.1)


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_an_answer_outlives_the_socket_that_asked_for_it(session: ChatSession, user: User) -> None:
    await database_sync_to_async(preferences_update)(user=user, max_tokens=48)
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Write a long story about a dragon."})
    frame = await receive(socket)
    while frame["type"] != "token":
        frame = await receive(socket)
    await socket.disconnect()  # the tab closes mid-answer; nobody is watching any more

    answer = await saved_answer(session)

    assert answer.status == "complete"
    assert answer.content.startswith(frame["delta"]) and len(answer.content) > len(frame["delta"])
    refreshed = await database_sync_to_async(ChatSession.objects.get)(pk=session.pk)
    assert refreshed.generating_since is None


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_a_socket_opened_mid_answer_gets_the_text_so_far_then_the_rest(session: ChatSession, user: User) -> None:
    await database_sync_to_async(preferences_update)(user=user, max_tokens=64)
    asker = await authed_socket(user, session.pk)
    await asker.send_json_to({"type": "message", "content": "Write a long story about a dragon."})
    seen = ""  # what the asking socket has shown so far
    while len(seen) < 10:
        frame = await receive(asker)
        if frame["type"] == "token":
            assert frame["offset"] == len(seen)
            seen += frame["delta"]

    reloaded = await authed_socket(user, session.pk)  # a reload: a new socket on the same session
    snapshot = await receive(reloaded)
    rest = await receive_turn(reloaded)
    await asker.disconnect()

    assert snapshot["type"] == "assistant.snapshot" and snapshot["message_id"] == frame["message_id"]
    assert snapshot["content"].startswith(seen)
    assert snapshot["offset"] == len(snapshot["content"])
    assert (snapshot["model"], snapshot["provider"]) == (rest[-1]["message"]["model"], rest[-1]["message"]["provider"])
    tokens = [f for f in rest if f["type"] == "token"]
    offsets = [snapshot["offset"]] + [f["offset"] + len(f["delta"]) for f in tokens]
    assert [f["offset"] for f in tokens] == offsets[:-1]  # no gap, no overlap
    end = rest[-1]
    assert end["message"]["status"] == "complete"
    assert end["message"]["content"] == snapshot["content"] + "".join(f["delta"] for f in tokens)
    await reloaded.disconnect()


async def test_a_socket_opened_with_no_answer_streaming_gets_no_snapshot(session: ChatSession, user: User) -> None:
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


# --- the fallback chain, seen from the socket ---------------------------------------------------


@pytest.mark.llm
async def test_dead_primary_falls_back_and_the_client_sees_it(
    session: ChatSession,
    user: User,
    model_server,
    settings,
) -> None:
    from tests.servers import MODEL_NAME, free_port

    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.OLLAMA_FALLBACK_HOST = model_server.url
    settings.OLLAMA_MODEL = MODEL_NAME
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Hi"})
    frames = await receive_turn(socket)
    start = next(f for f in frames if f["type"] == "assistant.start")
    assert start["provider"] == "ollama-fallback"
    assert start["fallback_from"] == [f"ollama/{MODEL_NAME}: connection refused"]
    assert frames[-1]["message"]["fallback_from"] == start["fallback_from"]
    await socket.disconnect()


async def test_no_model_reachable_answers_extractively_or_errors(session: ChatSession, user: User, settings) -> None:
    from tests.servers import free_port

    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.OLLAMA_FALLBACK_HOST = ""
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Hi"})
    frames = await receive_turn(socket)
    assert frames[-1]["message"]["provider"] == "extractive"
    assert "No language model is reachable" in frames[-1]["message"]["content"]

    settings.LLM_EXTRACTIVE_FALLBACK = False
    await socket.send_json_to({"type": "message", "content": "Hi again"})
    frames = await receive_turn(socket)
    assert [f["type"] for f in frames] == ["message.created", "error", "assistant.end"]
    assert frames[1]["code"] == "no_provider_available"
    assert frames[-1]["message"]["status"] == "error"
    assert frames[-1]["message"]["error"]
    questions = await database_sync_to_async(lambda: list(session.messages.filter(role="user")))()
    assert [q.content for q in questions] == ["Hi", "Hi again"]  # what the user typed is never lost
    await socket.disconnect()
