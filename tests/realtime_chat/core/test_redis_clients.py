"""Async Redis clients under a burst: more commands at once than the pool has connections wait for one, as a
thousand sockets connecting at once do (redis-py's default pool failed them with "Too many connections")."""

import asyncio
import uuid

from realtime_chat.core.redis_clients import MAX_CONNECTIONS, LoopRedis


async def test_a_burst_of_commands_beyond_the_pool_waits_instead_of_failing(redis_url: str) -> None:
    client = LoopRedis(redis_url).client()
    key = f"test:burst:{uuid.uuid4().hex}"
    burst = MAX_CONNECTIONS * 4  # over redis-py's default limit of 100 connections, too

    counts = await asyncio.gather(*(client.incr(key) for _ in range(burst)))

    assert sorted(counts) == list(range(1, burst + 1))
    assert len(client.connection_pool._in_use_connections) == 0
    await client.delete(key)


async def test_each_event_loop_gets_a_client_of_its_own(redis_url: str) -> None:
    clients = LoopRedis(redis_url)
    assert clients.client() is clients.client()
