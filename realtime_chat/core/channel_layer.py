"""The channel layer: the configured one for callers, and the embedded default's in-memory layer."""

import time
from typing import Any

import redis.asyncio as aioredis
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer  # type: ignore[import-untyped]  # ships no types
from django.core.exceptions import ImproperlyConfigured

from realtime_chat.core.redis_clients import MAX_CONNECTIONS, WAIT_FOR_CONNECTION_SECONDS

SWEEP_INTERVAL_SECONDS = 1.0


def channel_layer() -> BaseChannelLayer:
    """The default layer; settings always configure one (Redis, or the in-memory layer below)."""
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured("CHANNEL_LAYERS has no default layer")
    return layer


class SweptInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer walks every channel and group for expired messages and memberships on every
    `group_send` and `receive`, so each token frame cost time in proportion to all open sockets, idle ones
    included. Sweeping at most once a second keeps expiry (to within a second) and makes a frame's cost
    independent of how many sockets are open. Production uses Redis, which expires by itself."""

    def __init__(self, **kwargs: Any) -> None:  # CHANNEL_LAYERS' CONFIG, as Channels passes it
        super().__init__(**kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL_SECONDS
        super()._clean_expired()  # type: ignore[misc]  # private in Channels, so types-channels omits it


class WaitingRedisChannelLayer(RedisChannelLayer):
    """channels_redis on redis-py 8, whose default pool fails a command with "Too many connections" past 100 in
    use: a thousand sockets connecting at once (each joining its groups) got 1011 errors. A blocking pool makes
    a command wait for a free connection instead, as `core.redis_clients` does for ours."""

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address")
        return aioredis.BlockingConnectionPool.from_url(
            address, max_connections=MAX_CONNECTIONS, timeout=WAIT_FOR_CONNECTION_SECONDS, **host
        )
