"""Answers that belong to the session, not to the socket or request that asked for them.

A turn is driven by a task of the process (`answer_detach`): closing the tab, reloading or losing the network
cancels nothing; only `stop` (from any socket of the session, in any process: `stop_on_request`) or the
generation timeout ends an answer early. While it streams, its text so far is kept where every process can read
it (`answer_store`: Redis in production, this process's memory in the embedded default), appended once per flush
window, so a socket that opens mid-answer gets a snapshot and continues from its offset. The generating process
beats (`heartbeat`); if it dies, the next message or the sweeper takes the lock over (services.chat).
"""

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import redis.asyncio as redis
from channels.db import database_sync_to_async
from django.conf import settings

from realtime_chat.chat.broadcast import session_control_group
from realtime_chat.chat.frames import ServerFrame
from realtime_chat.chat.services.chat import generation_heartbeat
from realtime_chat.core.channel_layer import channel_layer

logger = logging.getLogger(__name__)
LISTEN_RETRY_SECONDS = 1.0
_detached: set[asyncio.Task[None]] = set()  # strong references: the event loop keeps only weak ones


def answer_detach(turn: AsyncIterator[ServerFrame], follower: asyncio.Queue[ServerFrame | None] | None = None) -> None:
    """Drive the rest of `turn` in a task of the process. Its frames reach the session's sockets through the
    channel layer; `follower`, if given, also gets each of them, then None."""
    task = asyncio.create_task(_drive(turn, follower))
    _detached.add(task)
    task.add_done_callback(_detached.discard)


async def _drive(turn: AsyncIterator[ServerFrame], follower: asyncio.Queue[ServerFrame | None] | None) -> None:
    try:
        async for frame in turn:
            if follower is not None:
                follower.put_nowait(frame)
    finally:
        if follower is not None:
            follower.put_nowait(None)


async def answer_follow(turn: AsyncIterator[ServerFrame]) -> AsyncIterator[ServerFrame]:
    """The rest of `turn`'s frames, for a request that streams them (SSE). The answer is detached first: if the
    request goes away, the answer still completes and is saved."""
    follower: asyncio.Queue[ServerFrame | None] = asyncio.Queue()
    answer_detach(turn, follower)
    while (frame := await follower.get()) is not None:
        yield frame


@asynccontextmanager
async def stop_on_request(session_id: int) -> AsyncIterator[None]:
    """Cancel the current task when a `stop` for the session arrives, from any socket in any process."""
    layer, group, target = channel_layer(), session_control_group(session_id), asyncio.current_task()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)

    async def listen() -> None:
        while True:
            try:
                if (await layer.receive(channel)).get("type") == "chat.stop":
                    break
            except Exception:  # the layer's connection failed: keep listening, or `stop` would be lost for good
                logger.exception("Listening for stop in session %s failed; listening again", session_id)
                await asyncio.sleep(LISTEN_RETRY_SECONDS)
        if target is not None:
            target.cancel()

    listener = asyncio.create_task(listen())
    try:
        yield
    finally:
        listener.cancel()
        await asyncio.shield(layer.group_discard(group, channel))


@asynccontextmanager
async def heartbeat(*, session_id: int, message_id: int, text_so_far: Callable[[], str]) -> AsyncIterator[None]:
    """Beat while the block runs: the session's lock stays ours and the answer's partial text is saved."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(settings.CHAT_GENERATION_HEARTBEAT_SECONDS)
            await database_sync_to_async(generation_heartbeat)(
                session_id=session_id, message_id=message_id, partial_text=text_so_far()
            )

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()


# --- The text of answers in progress --------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    message_id: int
    content: str
    model: str
    provider: str


class AnswerStore(Protocol):
    async def begin(self, session_id: int, *, message_id: int, model: str, provider: str) -> None: ...

    async def append(self, session_id: int, text: str) -> None: ...

    async def snapshot(self, session_id: int) -> Snapshot | None: ...

    async def end(self, session_id: int) -> None: ...


class LocalAnswerStore:
    """One process holds every socket (the embedded default): its memory is where every socket can read."""

    def __init__(self) -> None:
        self._answers: dict[int, tuple[Snapshot, list[str]]] = {}

    async def begin(self, session_id: int, *, message_id: int, model: str, provider: str) -> None:
        self._answers[session_id] = (Snapshot(message_id, "", model, provider), [])

    async def append(self, session_id: int, text: str) -> None:
        if (answer := self._answers.get(session_id)) is not None:
            answer[1].append(text)

    async def snapshot(self, session_id: int) -> Snapshot | None:
        if (answer := self._answers.get(session_id)) is None:
            return None
        meta, parts = answer
        return Snapshot(meta.message_id, "".join(parts), meta.model, meta.provider)

    async def end(self, session_id: int) -> None:
        self._answers.pop(session_id, None)


class RedisAnswerStore:
    """Two keys an answer: its description and its text, which grows by APPEND (one round trip a window).
    Both expire after the generation timeout, so a crashed process leaves nothing behind for long."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis] = weakref.WeakKeyDictionary()

    def _client(self) -> redis.Redis:
        """A client per event loop: its connections belong to the loop that opened them."""
        loop = asyncio.get_running_loop()
        if (client := self._clients.get(loop)) is None:
            client = self._clients[loop] = redis.Redis.from_url(self.url)
        return client

    @staticmethod
    def _keys(session_id: int) -> tuple[str, str]:
        return f"chat:answer:{session_id}:meta", f"chat:answer:{session_id}:text"

    async def begin(self, session_id: int, *, message_id: int, model: str, provider: str) -> None:
        meta_key, text_key = self._keys(session_id)
        meta = json.dumps({"message_id": message_id, "model": model, "provider": provider})
        ttl = settings.CHAT_GENERATION_TIMEOUT_SECONDS + 60
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.set(meta_key, meta, ex=ttl)
            pipe.set(text_key, "", ex=ttl)
            await pipe.execute()

    async def append(self, session_id: int, text: str) -> None:
        await self._client().append(self._keys(session_id)[1], text)

    async def snapshot(self, session_id: int) -> Snapshot | None:
        meta, text = await self._client().mget(self._keys(session_id))
        if meta is None or text is None:
            return None
        described = json.loads(meta)
        content = text.decode() if isinstance(text, bytes) else text
        return Snapshot(described["message_id"], content, described["model"], described["provider"])

    async def end(self, session_id: int) -> None:
        await self._client().delete(*self._keys(session_id))


@cache
def _store(redis_url: str) -> AnswerStore:
    return RedisAnswerStore(redis_url) if redis_url else LocalAnswerStore()


def answer_store() -> AnswerStore:
    """Redis where the processes share one (REDIS_URL), else this process's memory."""
    return _store(settings.REDIS_URL)
