"""Groups of sockets: events reach every receiver of the group once, in order, here and from other processes."""

import asyncio
import json
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from realtime_chat.core.fanout import CHANNEL_PREFIX, Event, group_join, group_leave, group_send, local_receivers
from realtime_chat.core.redis_clients import shared_redis


class Inbox:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.arrived = asyncio.Event()

    async def group_event(self, event: Event) -> None:
        self.events.append(dict(event))
        self.arrived.set()

    async def next_count(self, count: int) -> list[Any]:
        async with asyncio.timeout(5):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.events


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    else:
        settings.REDIS_URL = ""
    return str(request.param)


def _group() -> str:
    return f"test.{uuid.uuid4().hex}"


async def test_every_receiver_of_the_group_gets_each_event_once_in_order(backend: str) -> None:
    group, first, second, stranger = _group(), Inbox(), Inbox(), Inbox()
    await group_join(group, first)
    await group_join(group, second)
    await group_join(_group(), stranger)

    for n in range(50):
        await group_send(group, {"type": "chat.frame", "text": str(n)})
    await asyncio.sleep(0.2)  # an echo from Redis would arrive by now

    expected = [{"type": "chat.frame", "text": str(n)} for n in range(50)]
    assert first.events == expected
    assert second.events == expected
    assert stranger.events == []


async def test_a_receiver_that_left_gets_nothing_more(backend: str) -> None:
    group, leaving, staying = _group(), Inbox(), Inbox()
    await group_join(group, leaving)
    await group_join(group, staying)
    await group_send(group, {"type": "chat.frame", "text": "1"})

    await group_leave(group, leaving)
    await group_send(group, {"type": "chat.frame", "text": "2"})

    assert [e["text"] for e in leaving.events] == ["1"]
    assert [e["text"] for e in await staying.next_count(2)] == ["1", "2"]
    await group_leave(group, staying)
    assert local_receivers(group) == 0


async def test_a_broken_receiver_does_not_keep_the_event_from_the_others(backend: str) -> None:
    class Broken:
        async def group_event(self, event: Event) -> None:
            raise ConnectionResetError("the socket is gone")

    group, inbox = _group(), Inbox()
    await group_join(group, Broken())
    await group_join(group, inbox)

    await group_send(group, {"type": "chat.frame", "text": "still here"})

    assert [e["text"] for e in inbox.events] == ["still here"]


async def test_events_published_by_another_process_reach_the_receivers_here(redis_url: str, settings: Any) -> None:
    """Another process publishes under its own origin; this one delivers what it did not send itself."""
    settings.REDIS_URL = redis_url
    group, inbox = _group(), Inbox()
    await group_join(group, inbox)
    other_process = aioredis.Redis.from_url(redis_url)

    for n in range(3):
        event = {"type": "chat.frame", "text": f"from afar {n}", "span": [7, n, n + 1]}
        await other_process.publish(CHANNEL_PREFIX + group, b"4242.other|" + json.dumps(event).encode())

    events = await inbox.next_count(3)
    assert [e["text"] for e in events] == ["from afar 0", "from afar 1", "from afar 2"]
    assert events[2]["span"] == [7, 2, 3]
    await group_leave(group, inbox)
    await other_process.aclose()


async def test_a_group_joined_by_two_receivers_here_is_left_when_both_left(redis_url: str, settings: Any) -> None:
    settings.REDIS_URL = redis_url
    group, first, second = _group(), Inbox(), Inbox()
    await group_join(group, first)
    await group_join(group, second)
    other_process = aioredis.Redis.from_url(redis_url)

    await group_leave(group, first)
    assert await other_process.pubsub_numsub(CHANNEL_PREFIX + group) == [((CHANNEL_PREFIX + group).encode(), 1)]
    await group_leave(group, second)
    await asyncio.sleep(0.1)
    assert await other_process.pubsub_numsub(CHANNEL_PREFIX + group) == [((CHANNEL_PREFIX + group).encode(), 0)]
    await other_process.aclose()


async def test_the_outbox_runs_commands_in_the_order_given_and_reports_each_error_to_its_caller(
    redis_url: str,
) -> None:
    outbox = shared_redis(redis_url).outbox()
    key = f"test:outbox:{uuid.uuid4().hex}"

    for n in range(100):
        outbox.put("APPEND", key, f"{n},")
    replies = await asyncio.gather(
        outbox.execute("GET", key),
        outbox.execute("INCR", key),  # not a number: this caller alone gets the error
        outbox.execute("STRLEN", key),
        return_exceptions=True,
    )

    expected = "".join(f"{n}," for n in range(100)).encode()
    assert replies[0] == expected
    assert isinstance(replies[1], aioredis.ResponseError)
    assert replies[2] == len(expected)
    await outbox.execute("DEL", key)


async def test_many_sockets_joining_at_once_all_hear_other_processes(redis_url: str, settings: Any) -> None:
    """Joins at once (sockets opening together) each get their subscription confirmed on the one connection read."""
    settings.REDIS_URL = redis_url
    groups, inboxes = [_group() for _ in range(20)], [Inbox() for _ in range(20)]
    await asyncio.gather(*(group_join(group, inbox) for group, inbox in zip(groups, inboxes, strict=True)))
    other_process = aioredis.Redis.from_url(redis_url)

    for group in groups:
        event = {"type": "chat.frame", "text": group}
        await other_process.publish(CHANNEL_PREFIX + group, b"4242.other|" + json.dumps(event).encode())

    for group, inbox in zip(groups, inboxes, strict=True):
        assert [e["text"] for e in await inbox.next_count(1)] == [group]
        await group_leave(group, inbox)
    await other_process.aclose()


async def test_an_event_reaches_no_receiver_before_the_write_it_reports_is_in_redis(
    redis_url: str, settings: Any
) -> None:
    """A reader may see an answer's text only once Redis holds it: a process killed right after cannot lose it."""
    settings.REDIS_URL = redis_url
    group, key = _group(), f"test:fanout:{uuid.uuid4().hex}"
    other_process = aioredis.Redis.from_url(redis_url)
    seen_in_redis: list[bytes | None] = []

    class ReadsRedis:
        async def group_event(self, event: Event) -> None:
            seen_in_redis.append(await other_process.get(key))

    receiver = ReadsRedis()
    await group_join(group, receiver)
    written = shared_redis(redis_url).outbox().submit("APPEND", key, "Once upon a time")
    await group_send(group, {"type": "chat.frame", "text": "Once upon a time"}, after=written)

    assert seen_in_redis == [b"Once upon a time"]
    await group_leave(group, receiver)
    await other_process.delete(key)
    await other_process.aclose()


async def test_leaving_for_a_receiver_of_another_loop_keeps_this_loops_subscription(
    redis_url: str, settings: Any
) -> None:
    """A turn can join on one loop and end on another (a synchronous caller's `async_to_sync` loop, then the
    stream's): its leaving must not end the subscription this loop's own receivers rely on."""
    settings.REDIS_URL = redis_url
    group, here, elsewhere = _group(), Inbox(), Inbox()
    await group_join(group, here)
    await asyncio.to_thread(asyncio.run, group_join(group, elsewhere))  # joined on a loop of its own, now closed
    await group_leave(group, elsewhere)

    other_process = aioredis.Redis.from_url(redis_url)
    event = {"type": "chat.frame", "text": "still subscribed"}
    await other_process.publish(CHANNEL_PREFIX + group, b"4242.other|" + json.dumps(event).encode())
    assert (await here.next_count(1)) == [event]
    await group_leave(group, here)
    await other_process.aclose()
