"""The product's Redis cache shares one client per process: Django's own opened a connection per task and thread,
so on a server where every socket is a task, each socket's first cache call opened a new connection to Redis."""

import asyncio
import uuid

import pytest
import redis
from django.core.cache import cache

DJANGOS_OWN = "django.core.cache.backends.redis.RedisCache"
THE_PRODUCTS = "realtime_chat.core.cache_backends.SharedRedisCache"


def _connections_opened(client: redis.Redis) -> int:
    return int(client.info("stats")["total_connections_received"])


async def _sockets_touching_the_cache(count: int) -> None:
    """Each socket a task of its own (as each consumer is), each touching the cache on the loop and in a thread."""
    prefix = uuid.uuid4().hex

    async def one_socket(number: int) -> None:
        await cache.aadd(f"{prefix}:typing:{number}", 1, timeout=5)
        await asyncio.to_thread(cache.get, f"{prefix}:typing:{number}")

    await asyncio.gather(*(asyncio.create_task(one_socket(n)) for n in range(count)))


@pytest.mark.parametrize(("backend", "most"), [(THE_PRODUCTS, 10), (DJANGOS_OWN, None)])
async def test_many_sockets_share_the_process_connections(
    backend: str, most: int | None, settings, redis_url: str
) -> None:
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": redis_url}}
    observer = redis.Redis.from_url(redis_url)
    await _sockets_touching_the_cache(2)  # the pools' first connections
    before = _connections_opened(observer)

    await _sockets_touching_the_cache(30)

    opened = _connections_opened(observer) - before
    if most is not None:  # the pool grows to the threads that ran a command at once, not to the sockets
        assert opened <= most
    else:  # what this backend exists for: Django's own opens one a task (and keeps it until collected)
        assert opened >= 30


async def test_the_shared_client_is_still_a_cache(settings, redis_url: str) -> None:
    settings.CACHES = {"default": {"BACKEND": THE_PRODUCTS, "LOCATION": redis_url}}
    key = f"test:{uuid.uuid4().hex}"
    await asyncio.create_task(cache.aset(key, {"seen": 1}, timeout=5))
    assert await asyncio.to_thread(cache.get, key) == {"seen": 1}
    assert not await cache.aadd(key, "other", timeout=5)
    await cache.adelete(key)
