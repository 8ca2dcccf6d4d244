"""Async Redis clients under a burst: more commands at once than the pool has connections wait for one, as a
thousand sockets connecting at once do (redis-py's default pool failed them with "Too many connections")."""

import asyncio
import uuid

from realtime_chat.core.redis_clients import MAX_CONNECTIONS, LoopOutbox, LoopRedis


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


async def test_a_command_queued_while_the_outbox_sender_is_being_cancelled_is_still_sent(redis_url: str) -> None:
    """When a loop shuts down, every task is cancelled at once: a `finally` that queues one last command (an
    answer's last text) behind a sender cancelled in the same sweep must get its reply, not wait forever."""
    outbox = LoopOutbox(LoopRedis(redis_url).client())
    key = f"test:outbox:{uuid.uuid4().hex}"
    first = outbox.submit("SET", key, "1")
    assert outbox.sender is not None
    outbox.sender.cancel()
    late = outbox.submit("APPEND", key, "2")  # given while the old sender has not yet seen its cancellation

    assert await asyncio.wait_for(first, timeout=5)  # never taken by the cancelled sender: a new one sends it
    assert await asyncio.wait_for(late, timeout=5) == 2  # after it, in order
    await outbox.execute("DEL", key)


async def test_a_sender_cancelled_mid_round_trip_releases_every_waiter(redis_url: str) -> None:
    outbox = LoopOutbox(LoopRedis(redis_url).client())
    key = f"test:outbox:{uuid.uuid4().hex}"
    waiting = [outbox.submit("INCR", key) for _ in range(10)]
    await asyncio.sleep(0)  # the sender takes the batch and starts its round trip
    assert outbox.sender is not None
    outbox.sender.cancel()

    done, pending = await asyncio.wait(waiting, timeout=5)

    assert not pending  # cut off mid-way, the batch's outcome is unknown: each waiter hears it was cancelled
    assert all(future.cancelled() for future in done)
    assert await outbox.execute("DEL", key) in (0, 1)
