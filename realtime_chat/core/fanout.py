"""Groups of sockets, in this process and in every other: the path each streamed token takes to its readers.

Channels' groups hand a message to each socket's own channel, where the socket's consumer picks it up in a task of
its own; on Redis a `group_send` costs four round trips and each message received four more. At 100 answers of 50
tokens/s one process could not keep up. Here an event is handed straight to the receivers of this process that
joined its group (a call: no queue, no task) and, when the processes share Redis, published once for the others
through the loop's outbox (`redis_clients.LoopOutbox`: what every answer has to say while a round trip is in
flight goes in the next pipeline). A process subscribes once per group it has receivers in, and hands each event
it receives to them.

Delivery is at most once, in order from each sender: what a receiver must not miss (an answer's text so far) is
kept elsewhere (`chat.answer_store`) and read after joining.
"""

import asyncio
import json
import logging
import os
import uuid
import weakref
from collections.abc import Awaitable, Mapping
from functools import cache
from typing import Any, Protocol

import redis.asyncio as aioredis
from django.conf import settings

from realtime_chat.core.redis_clients import shared_redis

logger = logging.getLogger(__name__)
CHANNEL_PREFIX = "fanout:"
SUBSCRIBE_TIMEOUT_SECONDS = 10.0

Event = Mapping[str, Any]


class Receiver(Protocol):
    """A socket (its consumer) that joined a group."""

    async def group_event(self, event: Event) -> None: ...


# Every receiver of the process by group, with the loop it runs on (daphne has one; a test has its own, and a
# synchronous caller's `async_to_sync` may run on another).
_receivers: dict[str, dict[Receiver, asyncio.AbstractEventLoop]] = {}


async def group_join(group: str, receiver: Receiver) -> None:
    """From when this returns, `receiver` gets every event sent to `group` by any process."""
    _receivers.setdefault(group, {})[receiver] = asyncio.get_running_loop()
    if settings.REDIS_URL:
        await _bus(settings.REDIS_URL).subscribe(group)


async def group_leave(group: str, receiver: Receiver) -> None:
    receivers = _receivers.get(group, {})
    joined_on = receivers.pop(receiver, None)
    if joined_on is None:
        return
    if not receivers:
        _receivers.pop(group, None)
    if settings.REDIS_URL and joined_on is asyncio.get_running_loop():  # a subscription belongs to its loop's bus
        await _bus(settings.REDIS_URL).unsubscribe(group)


async def group_send(group: str, event: Event, *, after: Awaitable[object] | None = None) -> None:
    """To the group's receivers here at once; to other processes' in the loop's next pipeline to Redis.

    `after`: a write the event reports (an answer's text), queued in the same outbox before this call. No reader
    may see what a crash could still lose: other processes get the event after Redis applied the write (the
    outbox keeps order), this one's receivers once the write's reply is back; both in the one round trip.
    """
    published = _bus(settings.REDIS_URL).publish(group, event) if settings.REDIS_URL else None
    try:
        if after is not None:
            await after
        await _deliver_here(group, event)
    except BaseException:
        if published is not None:  # the caller is failing: the publish's outcome is retrieved all the same
            published.add_done_callback(_outcome_retrieved)
        raise
    if published is not None:
        await published


def _outcome_retrieved(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()


def local_receivers(group: str) -> int:
    """How many receivers of this process joined `group`."""
    return len(_receivers.get(group, ()))


async def _deliver_here(group: str, event: Event) -> None:
    receivers = _receivers.get(group)
    if not receivers:
        return
    loop = asyncio.get_running_loop()
    for receiver, receiver_loop in list(receivers.items()):
        if receiver_loop is loop:
            try:
                await receiver.group_event(event)
            except Exception:  # one broken socket must not keep the event from the others
                logger.exception("Delivering a %s event to a receiver of %s failed", event.get("type"), group)
        elif receiver_loop.is_closed():
            receivers.pop(receiver, None)
        else:
            asyncio.run_coroutine_threadsafe(receiver.group_event(event), receiver_loop)


@cache
def _process_origin() -> bytes:
    """Marks what this process published, which it delivered itself and skips when Redis echoes it back."""
    return f"{os.getpid()}.{uuid.uuid4().hex[:12]}|".encode()


class RedisBus:
    """This loop's pub/sub connection (one for all groups) and its reader, and its publishes."""

    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(url, socket_timeout=None)  # a subscriber waits as long as it must
        self.pubsub = self.client.pubsub()
        self.outbox = shared_redis(url).outbox()
        self.origin = _process_origin()
        self.joined: dict[str, int] = {}  # receivers of this loop by group
        self.confirming: dict[bytes, asyncio.Future[None]] = {}
        self.reader: asyncio.Task[None] | None = None
        # redis-py's PubSub opens its connection on the first command: two at once would each open one, and one
        # subscription would be made on a connection nobody reads. Commands are sent one at a time.
        self.sending = asyncio.Lock()

    def publish(self, group: str, event: Event) -> "asyncio.Future[Any]":
        """Queued now, behind every command given before it; its reply when awaited."""
        return self.outbox.submit("PUBLISH", CHANNEL_PREFIX + group, self.origin + json.dumps(event).encode())

    async def subscribe(self, group: str) -> None:
        count = self.joined.get(group, 0)
        self.joined[group] = count + 1
        channel = (CHANNEL_PREFIX + group).encode()
        if count == 0:
            confirmed = self.confirming[channel] = asyncio.get_running_loop().create_future()
            async with self.sending:
                await self.pubsub.subscribe(channel)
            if self.reader is None or self.reader.done():
                self.reader = asyncio.create_task(self._read())
        elif (pending := self.confirming.get(channel)) is not None:
            confirmed = pending  # another receiver's subscription, not yet confirmed
        else:
            return
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
            await asyncio.shield(confirmed)

    async def unsubscribe(self, group: str) -> None:
        count = self.joined.get(group, 0) - 1
        if count > 0:
            self.joined[group] = count
            return
        self.joined.pop(group, None)
        async with self.sending:
            await self.pubsub.unsubscribe(CHANNEL_PREFIX + group)  # the reader ends after its confirmation, if the last

    async def _read(self) -> None:
        """Hand each published event to this process's receivers of its group (a subscription is confirmed in the
        same stream, after which nothing published can be missed)."""
        while self.joined or self.confirming:
            try:
                message = await self.pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:  # the connection failed: redis-py reconnects and subscribes again on the next read
                logger.exception("Reading group events from Redis failed; reading again")
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            kind, channel, data = message["type"], message["channel"], message["data"]
            if kind == "message":
                if not data.startswith(self.origin):
                    event = json.loads(data[data.index(b"|") + 1 :])
                    await _deliver_here(channel.decode().removeprefix(CHANNEL_PREFIX), event)
            elif kind == "subscribe":
                confirmed = self.confirming.pop(channel, None)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)


_buses: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RedisBus]]" = weakref.WeakKeyDictionary()


def _bus(url: str) -> RedisBus:
    buses = _buses.setdefault(asyncio.get_running_loop(), {})
    if (bus := buses.get(url)) is None:
        bus = buses[url] = RedisBus(url)
    return bus
