"""Redis clients for async code, one per event loop: a client's connections belong to the loop that opened them
(daphne has one; each test has its own).

A client's pool is a blocking one: when every connection is busy (a thousand sockets connecting at once each touch
presence), a caller waits its turn for one instead of failing with "Too many connections", redis-py's default.
"""

import asyncio
import weakref

import redis.asyncio as aioredis

MAX_CONNECTIONS = 64  # per process and loop: plenty for Redis's sub-millisecond commands, far below its maxclients
WAIT_FOR_CONNECTION_SECONDS = 30


class LoopRedis:
    def __init__(self, url: str, *, decode_responses: bool = False) -> None:
        self.url = url
        self.decode_responses = decode_responses
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )

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
