"""Redis clients for async code, one per event loop: a client's connections belong to the loop that opened them
(daphne has one; each test has its own)."""

import asyncio
import weakref

import redis.asyncio as aioredis


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
            client = aioredis.Redis.from_url(self.url, decode_responses=self.decode_responses)
            self._clients[loop] = client
        return client
