"""The text of answers in progress, where every process can read it: Redis when the processes share one
(REDIS_URL), else this process's memory (the embedded default, where one process holds every socket).

The generating turn appends each flush window's text before sending its frame; a socket that opens mid-answer
reads a snapshot; a process taking over a dead generator's lock reads the text so far to keep it. `begin` and
`append` take effect in the order they are called, ahead of anything sent after them, and return what to await
for the outcome (raising the store's error; the value means nothing): the turn queues a window's text, publishes
its frame, then waits once for both (on Redis, one round trip instead of two).
"""

import asyncio
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import redis
from django.conf import settings

from realtime_chat.core.redis_clients import LoopOutbox, shared_redis


@dataclass(frozen=True)
class Snapshot:
    message_id: int
    content: str
    model: str
    provider: str


class AnswerStore(Protocol):
    def begin(self, session_id: int, *, message_id: int, model: str, provider: str) -> Awaitable[object]: ...

    def append(self, session_id: int, text: str) -> Awaitable[object]: ...

    async def snapshot(self, session_id: int) -> Snapshot | None: ...

    async def end(self, session_id: int) -> None: ...

    async def keep_alive(self, session_id: int) -> None:
        """The answer is still being generated (its heartbeat): keep its entry from expiring."""
        ...

    def take_abandoned(self, session_id: int, message_id: int) -> str | None:
        """The text so far of an answer whose generator died, removed from the store; from synchronous code (the
        database thread). None if the store has none."""
        ...


class LocalAnswerStore:
    """One process holds every socket (the embedded default): its memory is where every socket can read."""

    def __init__(self) -> None:
        self._answers: dict[int, tuple[Snapshot, list[str]]] = {}

    def begin(self, session_id: int, *, message_id: int, model: str, provider: str) -> Awaitable[object]:
        self._answers[session_id] = (Snapshot(message_id, "", model, provider), [])
        return _done()

    def append(self, session_id: int, text: str) -> Awaitable[object]:
        if (answer := self._answers.get(session_id)) is not None:
            answer[1].append(text)
        return _done()

    async def snapshot(self, session_id: int) -> Snapshot | None:
        if (answer := self._answers.get(session_id)) is None:
            return None
        meta, parts = answer
        return Snapshot(meta.message_id, "".join(parts), meta.model, meta.provider)

    async def end(self, session_id: int) -> None:
        self._answers.pop(session_id, None)

    async def keep_alive(self, session_id: int) -> None:
        pass  # nothing expires here: the entry goes with the process, or at the answer's end

    def take_abandoned(self, session_id: int, message_id: int) -> str | None:
        answer = self._answers.get(session_id)
        if answer is None or answer[0].message_id != message_id:
            return None
        del self._answers[session_id]
        return "".join(answer[1])


class RedisAnswerStore:
    """Two keys an answer: its description and its text, which grows by APPEND. Both expire twice
    CHAT_GENERATION_STALE_SECONDS after the last heartbeat: long enough for the process that takes a dead
    generator's lock over to keep its text, not much longer.

    Every command goes through the loop's outbox (`redis_clients.LoopOutbox`), the one that also publishes the
    answer's frames (`core.fanout`): a window's text is written before its frame is published, without waiting for
    the round trip, and a snapshot read by this process comes after every append it gave before."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = shared_redis(url)

    def _outbox(self) -> LoopOutbox:
        return self._redis.outbox()

    @staticmethod
    def _keys(session_id: int) -> tuple[str, str]:
        return f"chat:answer:{session_id}:meta", f"chat:answer:{session_id}:text"

    def begin(self, session_id: int, *, message_id: int, model: str, provider: str) -> Awaitable[object]:
        meta_key, text_key = self._keys(session_id)
        meta = json.dumps({"message_id": message_id, "model": model, "provider": provider})
        ttl = 2 * settings.CHAT_GENERATION_STALE_SECONDS
        outbox = self._outbox()
        outbox.put("SET", text_key, "", "EX", ttl)  # the text first: a snapshot needs both, so it sees none or both
        return outbox.submit("SET", meta_key, meta, "EX", ttl)

    def append(self, session_id: int, text: str) -> Awaitable[object]:
        return self._outbox().submit("APPEND", self._keys(session_id)[1], text)

    async def keep_alive(self, session_id: int) -> None:
        ttl = 2 * settings.CHAT_GENERATION_STALE_SECONDS
        meta_key, text_key = self._keys(session_id)
        outbox = self._outbox()
        outbox.put("EXPIRE", meta_key, ttl)
        await outbox.execute("EXPIRE", text_key, ttl)

    async def snapshot(self, session_id: int) -> Snapshot | None:
        meta, text = await self._outbox().execute("MGET", *self._keys(session_id))
        if meta is None or text is None:
            return None
        described = json.loads(meta)
        content = text.decode() if isinstance(text, bytes) else text
        return Snapshot(described["message_id"], content, described["model"], described["provider"])

    async def end(self, session_id: int) -> None:
        await self._outbox().execute("DEL", *self._keys(session_id))

    def take_abandoned(self, session_id: int, message_id: int) -> str | None:
        keys = self._keys(session_id)
        with redis.Redis.from_url(self.url) as client:
            meta, text = client.mget(keys)
            if meta is None or text is None or json.loads(meta)["message_id"] != message_id:
                return None
            client.delete(*keys)
        return text.decode() if isinstance(text, bytes) else str(text)


def _done() -> Awaitable[object]:
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


@cache
def _store(redis_url: str) -> AnswerStore:
    return RedisAnswerStore(redis_url) if redis_url else LocalAnswerStore()


def answer_store() -> AnswerStore:
    """Redis where the processes share one (REDIS_URL), else this process's memory."""
    return _store(settings.REDIS_URL)
