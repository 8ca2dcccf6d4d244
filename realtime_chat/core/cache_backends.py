"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache object per thread and per asyncio task (`caches` is context-local), and each object builds a
client with pools of its own: on a server where every socket is a task, each socket's first cache call (a typing
notice, a rate limit, the circuit breaker's read before an answer) opened a new connection to Redis and kept it
until the object was collected. redis-py's pools are thread-safe, so the objects can share one.
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[str, RedisCacheClient] = {}
_clients_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> Any:  # RedisCacheClient; Django's attributes below are private, so not in its stubs
        servers, options = self._servers, self._options  # type: ignore[attr-defined]
        key = repr((servers, sorted(options.items())))
        with _clients_lock:
            if (client := _clients.get(key)) is None:
                client = _clients[key] = self._class(servers, **options)  # type: ignore[attr-defined]
                for write in (True, False):  # the pools made now, under the lock, not raced for by threads later
                    client._get_connection_pool(write)
            return client
