"""Who is online in a session, across daphne processes: each open socket holds an entry that expires unless the
socket refreshes it, so a process that dies takes its users offline within `PRESENCE_TTL_SECONDS`.

Redis (a sorted set a session, scored by expiry) where the processes share one (REDIS_URL), else this process's
memory. A user with several tabs counts once. `presence_changed` tells whether the online set differs from the
one last announced, so each change is announced once, whichever process notices it.
"""

import time
from functools import cache
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings

from realtime_chat.core.redis_clients import LoopRedis

PRESENCE_TTL_SECONDS = 45.0
PRESENCE_REFRESH_SECONDS = 15.0


class PresenceStore(Protocol):
    async def join(self, session_id: int, channel: str, username: str) -> None: ...

    async def leave(self, session_id: int, channel: str, username: str) -> None: ...

    async def online(self, session_id: int) -> list[str]: ...

    async def announce(self, session_id: int, online: list[str]) -> bool:
        """Record `online` as the announced set; True if it differs from the last one announced."""
        ...


class LocalPresence:
    def __init__(self) -> None:
        self._entries: dict[int, dict[str, tuple[str, float]]] = {}
        self._announced: dict[int, list[str]] = {}

    async def join(self, session_id: int, channel: str, username: str) -> None:
        self._entries.setdefault(session_id, {})[channel] = (username, time.monotonic() + PRESENCE_TTL_SECONDS)

    async def leave(self, session_id: int, channel: str, username: str) -> None:
        self._entries.get(session_id, {}).pop(channel, None)

    async def online(self, session_id: int) -> list[str]:
        now = time.monotonic()
        entries = self._entries.get(session_id, {})
        for channel in [channel for channel, (_, expires) in entries.items() if expires <= now]:
            del entries[channel]
        return sorted({username for username, _ in entries.values()})

    async def announce(self, session_id: int, online: list[str]) -> bool:
        changed = self._announced.get(session_id) != online
        self._announced[session_id] = online
        return changed


class RedisPresence:
    def __init__(self, url: str) -> None:
        self._redis = LoopRedis(url, decode_responses=True)

    def _client(self) -> aioredis.Redis:
        return self._redis.client()

    @staticmethod
    def _key(session_id: int) -> str:
        return f"chat:presence:{session_id}"

    async def join(self, session_id: int, channel: str, username: str) -> None:
        key = self._key(session_id)
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.zadd(key, {f"{channel}|{username}": time.time() + PRESENCE_TTL_SECONDS})
            pipe.expire(key, int(PRESENCE_TTL_SECONDS) * 2)
            await pipe.execute()

    async def leave(self, session_id: int, channel: str, username: str) -> None:
        await self._client().zrem(self._key(session_id), f"{channel}|{username}")

    async def online(self, session_id: int) -> list[str]:
        key = self._key(session_id)
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zrange(key, 0, -1)
            _, entries = await pipe.execute()
        return sorted({entry.rpartition("|")[2] for entry in entries})

    async def announce(self, session_id: int, online: list[str]) -> bool:
        # SET ... GET: the swap is atomic, so two processes noticing the same change announce it once.
        previous = await self._client().set(
            f"{self._key(session_id)}:announced", ",".join(online), ex=int(PRESENCE_TTL_SECONDS) * 2, get=True
        )
        return previous != ",".join(online)


@cache
def _store(redis_url: str) -> PresenceStore:
    return RedisPresence(redis_url) if redis_url else LocalPresence()


def presence_store() -> PresenceStore:
    return _store(settings.REDIS_URL)
