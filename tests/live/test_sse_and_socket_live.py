"""The product over real sockets: a real daphne process, real HTTP (SSE) and WebSocket clients, the real local
model, and a database that outlives the server process."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from consumers.protocol import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.frames import check_server_frame
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import preferences_update, session_create
from tests.servers import DaphneServer

pytestmark = [pytest.mark.live_server, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
TIMEOUT = 120  # a turn of the real model on a busy 2-core machine


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=16, use_rag=False, temperature=0.0)
    return session_create(user=user)


@pytest.fixture
def token(user: User) -> str:
    return token_pair_issue(user=user)["access"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_one_turn(frames: list[dict]) -> None:
    """The frames of one turn, in the socket's order, each matching its schema; the deltas make the answer."""
    for frame in frames:
        check_server_frame(frame)
    kinds = [frame["type"] for frame in frames]
    assert kinds[:2] == ["message.created", "assistant.start"], kinds
    assert kinds[-1] == "assistant.end", kinds
    assert set(kinds[2:-1]) == {"token"}, kinds
    end = frames[-1]
    assert end["message"]["status"] == Message.Status.COMPLETE
    assert end["message"]["content"] == "".join(frame["delta"] for frame in frames if frame["type"] == "token")
    assert end["message"]["content"].strip()
    assert end["usage"]["first_token_ms"] is not None


# --- Server-Sent Events -------------------------------------------------------------------------


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event name, data) for each event of a text/event-stream response, read as it arrives."""
    name, data = "", []
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif not line and data:
            yield name, json.loads("\n".join(data))
            name, data = "", []


def test_sse_streams_the_sockets_frames_in_order(live_daphne: DaphneServer, session: ChatSession, token: str) -> None:
    headers = {**bearer(token), "Accept": "text/event-stream"}
    client_id = str(uuid.uuid4())
    url = f"{live_daphne.url}/api/sessions/{session.pk}/messages/"
    with httpx.stream("POST", url, json={"content": "Say hello.", "client_id": client_id}, headers=headers,
                      timeout=TIMEOUT) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response))
    assert all(name == frame["type"] for name, frame in events), events
    frames = [frame for _, frame in events]
    assert_one_turn(frames)
    assert frames[0]["client_id"] == client_id
    assert frames[0]["message"]["content"] == "Say hello."


def test_sse_retry_of_a_saved_message_is_one_duplicate_frame(
    live_daphne: DaphneServer, session: ChatSession, token: str
) -> None:
    """A client resending a message whose answer it lost gets the saved question back, marked, and no new answer."""
    client_id = uuid.uuid4()
    saved = Message.objects.create(session=session, role="user", content="Say hello.", client_id=client_id)
    headers = {**bearer(token), "Accept": "text/event-stream"}
    url = f"{live_daphne.url}/api/sessions/{session.pk}/messages/"
    with httpx.stream("POST", url, json={"content": "Say hello.", "client_id": str(client_id)}, headers=headers,
                      timeout=TIMEOUT) as response:  # fmt: skip
        assert response.status_code == 200
        events = list(sse_events(response))
    assert [name for name, _ in events] == ["message.created"]
    created = events[0][1]
    check_server_frame(created)
    assert (created["duplicate"], created["client_id"], created["message"]["id"]) == (True, str(client_id), saved.pk)
    assert list(session.messages.all()) == [saved]


def test_sse_for_a_strangers_session_is_a_plain_404(live_daphne: DaphneServer, session: ChatSession,
                                                    stranger: User) -> None:  # fmt: skip
    headers = {**bearer(token_pair_issue(user=stranger)["access"]), "Accept": "text/event-stream"}
    url = f"{live_daphne.url}/api/sessions/{session.pk}/messages/"
    response = httpx.post(url, json={"content": "hi"}, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 404
    assert not Message.objects.exists()


# --- WebSocket ----------------------------------------------------------------------------------


async def open_socket(server: DaphneServer, session_id: int) -> ClientConnection:
    # The origin check admits only pages of an allowed host, as a browser on the site would send.
    return await connect(f"{server.ws_url}/ws/chat/{session_id}/", origin=server.url, open_timeout=TIMEOUT)


async def receive(socket: ClientConnection) -> dict:
    """The next frame but `presence` ones (checked and passed over: they follow every `ready` and every change)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        check_server_frame(frame)
        if frame["type"] != "presence":
            return frame


async def frames_until_end(socket: ClientConnection) -> AsyncIterator[dict]:
    while True:
        frame = await receive(socket)
        yield frame
        if frame["type"] == "assistant.end":
            return


async def test_socket_authenticates_by_first_frame_and_streams_tokens(
    live_daphne: DaphneServer, session: ChatSession, user: User, token: str
) -> None:
    async with await open_socket(live_daphne, session.pk) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        ready = await receive(socket)
        assert (ready["type"], ready["session_id"], ready["user"]) == ("ready", session.pk, user.username)
        await socket.send(json.dumps({"type": "message", "content": "Say hello.", "client_id": str(uuid.uuid4())}))
        frames = [frame async for frame in frames_until_end(socket)]
        assert_one_turn(frames)
        await socket.send(json.dumps({"type": "ping"}))
        assert await receive(socket) == {"type": "pong"}  # still usable after the turn


@pytest.mark.parametrize(("who", "code"), [("nobody", CLOSE_UNAUTHENTICATED), ("stranger", CLOSE_NOT_FOUND)])
async def test_socket_close_codes_reach_a_real_client(
    live_daphne: DaphneServer, session: ChatSession, stranger: User, who: str, code: int
) -> None:
    token = "forged" if who == "nobody" else (await database_sync_to_async(token_pair_issue)(user=stranger))["access"]
    async with await open_socket(live_daphne, session.pk) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket)
    assert closed.value.rcvd.code == code


# --- Persistence --------------------------------------------------------------------------------


def test_history_survives_a_daphne_restart(live_daphne: DaphneServer, session: ChatSession, token: str) -> None:
    url = f"{live_daphne.url}/api/sessions/{session.pk}/messages/"
    answer = httpx.post(url, json={"content": "Say hello."}, headers=bearer(token), timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text

    live_daphne.restart()

    history = httpx.get(url, headers=bearer(token), timeout=TIMEOUT)
    assert history.status_code == 200
    messages = history.json()["results"]
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[0]["content"] == "Say hello."
    assert messages[1] == answer.json()
