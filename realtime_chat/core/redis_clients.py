"""Redis clients for async code, one per event loop: a client's connections belong to the loop that opened them
(daphne has one; each test has its own).

A client's pool is a blocking one: when every connection is busy (a thousand sockets connecting at once each touch
presence), a caller waits its turn for one instead of failing with "Too many connections", redis-py's default.
"""

import asyncio
import logging
import weakref
from functools import cache
from typing import Any

import redis.asyncio as aioredis

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 64  # per process and loop: plenty for Redis's sub-millisecond commands, far below its maxclients
WAIT_FOR_CONNECTION_SECONDS = 30


class LoopRedis:
    def __init__(self, url: str, *, decode_responses: bool = False) -> None:
        self.url = url
        self.decode_responses = decode_responses
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopOutbox] = weakref.WeakKeyDictionary()

    def client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if (client := self._clients.get(loop)) is None:
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url,
                max_connections=MAX_CONNECTIONS,
                timeout=WAIT_FOR_CONNECTION_SECONDS,
                decode_responses=self.decode_responses,
            )
            client = aioredis.Redis(connection_pool=pool)
            self._clients[loop] = client
        return client

    def outbox(self) -> "LoopOutbox":
        """The running loop's outbox to this Redis: commands sent through it run in the order they were given."""
        loop = asyncio.get_running_loop()
        if (outbox := self._outboxes.get(loop)) is None:
            outbox = self._outboxes[loop] = LoopOutbox(self.client())
        return outbox


@cache
def shared_redis(url: str) -> LoopRedis:
    """The process's clients of `url` (bytes in, bytes out), shared by whatever must be ordered with the rest: the
    streamed text of an answer (`chat.answer_store`) is written before its frame is published (`core.fanout`)."""
    return LoopRedis(url)


class LoopOutbox:
    """Commands from every task of one loop, sent in order, in as few round trips as the load allows: while a
    pipeline is in flight the next one fills, so 100 answers each publishing 40 frames a second cost tens of round
    trips a second, not thousands; alone, a command leaves at once. Redis runs a connection's commands in order,
    so a command given after another (a snapshot read after an append) sees its effect."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.queue: list[tuple[tuple[Any, ...], asyncio.Future[Any] | None]] = []
        self.sender: asyncio.Task[None] | None = None

    async def execute(self, *command: Any) -> Any:
        """Run `command` after every command given before it; its reply (or its error, raised)."""
        return await self.submit(*command)

    def submit(self, *command: Any) -> asyncio.Future[Any]:
        """Queue `command` now, after every command given before it; its reply (or error) when the future is
        awaited. Commands given after this call run after it, so a caller may queue several and wait once."""
        done = asyncio.get_running_loop().create_future()
        self._put(command, done)
        return done

    def put(self, *command: Any) -> None:
        """Run `command` after every command given before it, without waiting for it; a failure is logged."""
        self._put(command, None)

    def _put(self, command: tuple[Any, ...], done: asyncio.Future[Any] | None) -> None:
        self.queue.append((command, done))
        if self.sender is None or self.sender.done():
            self._start_sender()

    def _start_sender(self) -> None:
        self.sender = asyncio.get_running_loop().create_task(self._send())
        self.sender.add_done_callback(self._sender_done)

    def _sender_done(self, sender: "asyncio.Task[None]") -> None:
        """A sender cancelled (its loop shutting down cancels every task at once) leaves what was queued behind it
        to a new one: a `finally` that queues an answer's last text during that sweep still gets its reply."""
        if self.queue and sender is self.sender and not sender.get_loop().is_closed():
            self._start_sender()

    async def _send(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for command, _ in batch:
                        pipe.execute_command(*command)
                    replies = await pipe.execute(raise_on_error=False)
            except asyncio.CancelledError:  # cut off mid-way, its outcome unknown: each waiter is cancelled too
                for _, done in batch:
                    if done is not None:
                        done.cancel()
                raise
            except Exception as exc:  # noqa: BLE001  (every waiter gets it; the next batch tries again)
                replies = [exc] * len(batch)
            for (command, done), reply in zip(batch, replies, strict=True):
                if done is None:
                    if isinstance(reply, Exception):
                        logger.warning("Redis %s failed: %s", command[0], reply)
                elif done.done():
                    continue  # its caller was cancelled
                elif isinstance(reply, Exception):
                    done.set_exception(reply)
                else:
                    done.set_result(reply)
