"""A failed provider cools down in the shared cache, per provider and model, and comes back by itself."""

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import BaseCache, cache, caches

from realtime_chat.llm.circuit_breaker import CircuitBreaker


async def test_a_tripped_provider_cools_down_with_its_reason() -> None:
    breaker = CircuitBreaker(cooldown_seconds=30)
    await breaker.trip("ollama", "smollm2:135m", "connection refused")
    assert await breaker.cooling_down("ollama", "smollm2:135m") == "connection refused"
    assert await breaker.cooling_down("ollama", "qwen2.5:0.5b") is None
    assert await breaker.cooling_down("ollama-fallback", "smollm2:135m") is None


async def test_another_breaker_on_the_same_cache_sees_the_cool_down() -> None:
    """What lets several daphne processes share it: the state is in the cache, not in the object."""
    await CircuitBreaker(cooldown_seconds=30, store=cache).trip("ollama", "m", "timed out")
    assert await CircuitBreaker(cooldown_seconds=30, store=cache).cooling_down("ollama", "m") == "timed out"


async def test_the_cool_down_ends_by_itself() -> None:
    breaker = CircuitBreaker(cooldown_seconds=1)
    await breaker.trip("ollama", "m", "timed out")
    await asyncio.sleep(1.1)
    assert await breaker.cooling_down("ollama", "m") is None


async def test_a_zero_cool_down_never_skips() -> None:
    breaker = CircuitBreaker(cooldown_seconds=0)
    await breaker.trip("ollama", "m", "timed out")
    assert await breaker.cooling_down("ollama", "m") is None


def _redis_cache(url: str) -> BaseCache:
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(url, {"KEY_PREFIX": f"breaker-test-{uuid.uuid4().hex}"})


@pytest.mark.parametrize("store", ["default", "redis"])
async def test_a_breaker_read_does_not_wait_for_the_threads_database_trips_run_on(store, request) -> None:
    """Asked before every answer: while 100 questions are being saved on the loop's default pool (and Channels'
    database thread is busy), an answer must still start."""
    given = _redis_cache(request.getfixturevalue("redis_url")) if store == "redis" else None
    breaker = CircuitBreaker(cooldown_seconds=30, store=given)
    await breaker.trip("ollama", "m", "timed out")
    loop = asyncio.get_running_loop()
    release = threading.Event()
    busy = [loop.run_in_executor(None, release.wait) for _ in range(40)]  # more than the pool's threads
    busy.append(asyncio.ensure_future(sync_to_async(release.wait)()))
    try:
        async with asyncio.timeout(5):  # queued behind them, it would wait until they are released
            assert await breaker.cooling_down("ollama", "m") == "timed out"
            assert await breaker.cooling_down("ollama", "other") is None
    finally:
        release.set()
        await asyncio.gather(*busy)


def test_the_default_store_is_the_default_cache_itself() -> None:
    assert isinstance(CircuitBreaker()._store, type(caches["default"]))
