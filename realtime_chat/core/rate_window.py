"""Fixed-window rate limits on the cache: "at most `limit` hits a `window_seconds`", counted atomically.

Each window has a counter of its own (the window's number is part of the key), so a limit always lifts when the
window ends, whatever a counter's lifetime. Django's async `aincr` is a read followed by a write, which is neither
atomic nor keeps the counter's expiry (it is written again with the cache's default timeout): this counts on
Redis with INCR and EXPIRE in one MULTI/EXEC, and in the local-memory cache (one process) under a lock.
"""

import threading
import time

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache

_local_lock = threading.Lock()


def now() -> float:
    """The clock windows are cut from (a function of its own so tests can move it)."""
    return time.time()


async def hits_within_limit(key: str, *, limit: int, window_seconds: int, cache_alias: str = "default") -> bool:
    """Count one hit for `key` in the current window; True while the window's hits, this one included, are at most
    `limit`. A refused hit counts too, so hammering does not shorten the wait."""
    hits = await sync_to_async(window_hit, thread_sensitive=False)(
        key, window_seconds=window_seconds, cache_alias=cache_alias
    )
    return hits <= limit


def window_hit(key: str, *, window_seconds: int, cache_alias: str = "default") -> int:
    """Count one hit for `key` in the current window and return the window's count so far."""
    cache = caches[cache_alias]
    window_key = f"rate:{key}:{window_seconds}:{int(now() // window_seconds)}"
    if isinstance(cache, RedisCache):
        return _redis_hit(cache, window_key, window_seconds)
    return _local_hit(cache, window_key, window_seconds)


def _redis_hit(cache: RedisCache, window_key: str, window_seconds: int) -> int:
    full_key = cache.make_and_validate_key(window_key)  # prefixed and versioned, as the cache's own keys
    # Django's RedisCache has no public way to run a pipeline; its client is the redis-py client it uses itself.
    client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
    with client.pipeline(transaction=True) as pipeline:
        pipeline.incr(full_key)
        pipeline.expire(full_key, window_seconds)  # outlives the window it counts: the next has a key of its own
        hits, _ = pipeline.execute()
    return int(hits)


def _local_hit(cache: BaseCache, window_key: str, window_seconds: int) -> int:
    """The local-memory cache lives in this process: a process lock makes add-then-incr one step. (For another
    backend, each call is only as atomic as its `incr`.)"""
    with _local_lock:
        cache.add(window_key, 0, timeout=window_seconds)
        return cache.incr(window_key)
