"""Fixed-window rate limits on the cache: "at most `limit` hits a `window_seconds`", counted atomically.

Each window has a counter of its own (the window's number is part of the key), so a limit always lifts when the
window ends, whatever a counter's lifetime. Django's async `aincr` is a read followed by a write, which is neither
atomic nor keeps the counter's expiry (it is written again with the cache's default timeout): this counts on
Redis with SET NX EX then INCR on one connection (the counter is born with its expiry and INCR keeps it), and in
the local-memory cache (one process) under a lock.

On Redis, the socket limit (counted on the event loop) goes through the loop's ordered outbox: no thread hop, and
its round trip is shared with the other commands in flight.
"""

import threading
import time

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache

from realtime_chat.core.redis_clients import shared_redis

_local_lock = threading.Lock()


def now() -> float:
    """The clock windows are cut from (a function of its own so tests can move it)."""
    return time.time()


async def hits_within_limit(key: str, *, limit: int, window_seconds: int, cache_alias: str = "default") -> bool:
    """Count one hit for `key` in the current window; True while the window's hits, this one included, are at most
    `limit`. A refused hit counts too, so hammering does not shorten the wait."""
    cache, window_key = caches[cache_alias], _window_key(key, window_seconds)
    if isinstance(cache, RedisCache):  # on the loop's ordered outbox: one round trip, shared with the others
        full_key = cache.make_and_validate_key(window_key)
        outbox = shared_redis(_redis_location(cache)).outbox()
        outbox.put("SET", full_key, 0, "EX", window_seconds, "NX")
        hits = int(await outbox.execute("INCR", full_key))
    else:
        hits = _local_hit(cache, window_key, window_seconds)  # in memory, under a lock held for microseconds
    return hits <= limit


def window_hit(key: str, *, window_seconds: int, cache_alias: str = "default") -> int:
    """Count one hit for `key` in the current window and return the window's count so far."""
    cache, window_key = caches[cache_alias], _window_key(key, window_seconds)
    if isinstance(cache, RedisCache):
        return _redis_hit(cache, window_key, window_seconds)
    return _local_hit(cache, window_key, window_seconds)


def _window_key(key: str, window_seconds: int) -> str:
    return f"rate:{key}:{window_seconds}:{int(now() // window_seconds)}"


def _redis_location(cache: RedisCache) -> str:
    return cache._servers[0]  # type: ignore[attr-defined]  # the server Django's RedisCache writes to


def _redis_hit(cache: RedisCache, window_key: str, window_seconds: int) -> int:
    full_key = cache.make_and_validate_key(window_key)  # prefixed and versioned, as the cache's own keys
    # Django's RedisCache has no public way to run a pipeline; its client is the redis-py client it uses itself.
    client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
    with client.pipeline(transaction=False) as pipeline:
        pipeline.set(full_key, 0, ex=window_seconds, nx=True)
        pipeline.incr(full_key)
        _, hits = pipeline.execute()
    return int(hits)


def _local_hit(cache: BaseCache, window_key: str, window_seconds: int) -> int:
    """The local-memory cache lives in this process: a process lock makes add-then-incr one step. (For another
    backend, each call is only as atomic as its `incr`.)"""
    with _local_lock:
        cache.add(window_key, 0, timeout=window_seconds)
        return cache.incr(window_key)
