"""Live sessions across daphne processes: two real daphne processes on PostgreSQL + Redis, the real local model.

An answer belongs to its session, not to the process or socket that asked: a stop from the other process ends it,
a socket closed on one process and reopened on the other gets the text so far and the rest (saved text = snapshot
+ later deltas, exactly), and kill -9 of the generating process frees the session within a minute.
Runs wherever PostgreSQL and Redis answer (the second pass of `make test`, and CI).
"""

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.frames import check_server_frame
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from tests.factories import UserFactory
from tests.servers import DaphneServer, LocalModelServer, database_url

pytestmark = [pytest.mark.live_server, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
TIMEOUT = 120
STORY = "Write a long story about a dragon who learns to sail."


@pytest.fixture
def two_processes(transactional_db: None, chat_model: LocalModelServer) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the second pass of make test, where they answer)")
    database = database_url(connection.settings_dict)
    first = DaphneServer(database=database, ollama_host=chat_model.url)
    second = DaphneServer(database=database, ollama_host=chat_model.url)
    yield first, second
    for server in (first, second):
        server.stop()


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=96, use_rag=False, temperature=0.0)
    return session_create(user=user)


async def open_socket(server: DaphneServer, session: ChatSession, user: User) -> ClientConnection:
    token = await database_sync_to_async(lambda: token_pair_issue(user=user)["access"])()
    socket = await connect(f"{server.ws_url}/ws/chat/{session.pk}/", origin=server.url)  # type: ignore[arg-type]
    await socket.send(json.dumps({"type": "auth", "token": token}))
    assert (await receive(socket))["type"] == "ready"
    return socket


async def receive(socket: ClientConnection) -> dict:
    """The next frame but `presence` ones (checked and passed over: they follow every `ready` and every change)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        check_server_frame(frame)
        if frame["type"] != "presence":
            return frame


async def text_streamed(socket: ClientConnection, *, at_least: int) -> str:
    """Read the asking socket's frames until the answer has at least that many characters; returns them."""
    seen = ""
    while len(seen) < at_least:
        frame = await receive(socket)
        assert frame["type"] != "assistant.end", "the answer ended before the test could interrupt it"
        if frame["type"] == "token":
            assert frame["offset"] == len(seen)
            seen += frame["delta"]
    return seen


async def until_end(socket: ClientConnection) -> list[dict]:
    frames = [await receive(socket)]
    while frames[-1]["type"] != "assistant.end":
        frames.append(await receive(socket))
    return frames


async def test_a_socket_closed_on_one_process_resumes_on_the_other(two_processes, session, user) -> None:
    first, second = two_processes
    asker = await open_socket(first, session, user)
    await asker.send(json.dumps({"type": "message", "content": STORY}))
    seen = await text_streamed(asker, at_least=20)
    await asker.close()  # the tab reloads; its new socket lands on the other process

    resumed = await open_socket(second, session, user)
    snapshot = await receive(resumed)
    rest = await until_end(resumed)
    await resumed.close()

    assert snapshot["type"] == "assistant.snapshot" and snapshot["content"].startswith(seen)
    tokens = [frame for frame in rest if frame["type"] == "token"]
    assert [frame["offset"] for frame in tokens] == [
        snapshot["offset"] + sum(len(f["delta"]) for f in tokens[:index]) for index in range(len(tokens))
    ]
    saved = await database_sync_to_async(Message.objects.get)(pk=snapshot["message_id"])
    assert saved.status == "complete"
    assert saved.content == snapshot["content"] + "".join(frame["delta"] for frame in tokens)
    assert rest[-1]["message"]["content"] == saved.content


async def test_a_stop_from_a_socket_on_the_other_process_ends_the_answer(two_processes, session, user) -> None:
    first, second = two_processes
    asker, watcher = await open_socket(first, session, user), await open_socket(second, session, user)
    await asker.send(json.dumps({"type": "message", "content": STORY}))
    await text_streamed(asker, at_least=10)

    await watcher.send(json.dumps({"type": "stop"}))

    asker_end, watcher_end = (await until_end(asker))[-1], (await until_end(watcher))[-1]
    assert asker_end["message"]["status"] == watcher_end["message"]["status"] == "cancelled"
    assert asker_end["message"]["content"] == watcher_end["message"]["content"] != ""
    await asker.close()
    await watcher.close()


async def test_kill_9_of_the_generating_process_frees_the_session_within_a_minute(two_processes, session, user) -> None:
    first, second = two_processes
    asker = await open_socket(first, session, user)
    await asker.send(json.dumps({"type": "message", "content": STORY}))
    seen = await text_streamed(asker, at_least=10)
    first.process.kill()  # SIGKILL: no handler runs, nothing is saved on the way out
    killed_at = time.monotonic()

    survivor = await open_socket(second, session, user)
    accepted = None
    while accepted is None and time.monotonic() - killed_at < 60:
        await survivor.send(json.dumps({"type": "message", "content": "Are you still there?"}))
        frame = await receive(survivor)
        while frame["type"] == "assistant.snapshot":  # the dead answer's text, kept in Redis until it expires
            frame = await receive(survivor)
        if frame["type"] == "message.created":
            accepted = time.monotonic() - killed_at
        else:
            assert frame["code"] == "session_busy"
            await asyncio.sleep(2)
    assert accepted is not None and accepted < 60
    await until_end(survivor)
    await survivor.close()

    answers = await database_sync_to_async(lambda: list(session.messages.filter(role="assistant").order_by("id")))()
    abandoned, answered = answers
    assert abandoned.status == "error" and abandoned.content.startswith(seen)
    assert answered.status == "complete"
    async with httpx.AsyncClient() as client:  # the survivor still serves everything
        assert (await client.get(f"{second.url}/api/health/live/")).status_code == 200


async def test_two_people_on_two_processes_share_a_room(two_processes, session, user) -> None:
    first, second = two_processes
    bob = await database_sync_to_async(UserFactory)(username="bob")
    await database_sync_to_async(member_add)(session=session, username="bob", role="member")
    owner = await open_socket(first, session, user)
    member = await open_socket(second, session, bob)

    assert await presence_becomes(owner, sorted([user.username, "bob"]))  # bob is online on the other process
    await member.send(json.dumps({"type": "typing"}))
    assert await receive(owner) == {"type": "typing", "user": "bob"}
    await member.send(json.dumps({"type": "message", "content": "Say hello to everyone."}))

    owner_frames, member_frames = await until_end(owner), await until_end(member)
    for frames in (owner_frames, member_frames):
        assert frames[0]["type"] == "message.created" and frames[0]["message"]["author"] == "bob"
    owner_text = "".join(f["delta"] for f in owner_frames if f["type"] == "token")
    assert owner_text == "".join(f["delta"] for f in member_frames if f["type"] == "token")
    assert owner_frames[-1]["message"]["content"] == owner_text != ""
    await member.close()
    assert await presence_becomes(owner, [user.username])
    await owner.close()


async def presence_becomes(socket: ClientConnection, online: list[str]) -> bool:
    """Whether a presence frame saying exactly `online` arrives (earlier presence frames are passed over)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        check_server_frame(frame)
        if frame["type"] == "presence" and frame["online"] == online:
            return True
