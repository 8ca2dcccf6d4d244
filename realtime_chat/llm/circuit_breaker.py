"""Skip a provider that just failed, for a cool-down, so every chat does not wait for the same timeout again.

The state lives in Django's cache (Redis in production), so all daphne processes share it; an entry expires
by itself when the cool-down ends, and the provider is tried again.
"""

import contextlib
import hashlib
import math

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import BaseCache, cache
from django.core.cache.backends.locmem import LocMemCache

from realtime_chat.core.metrics import BREAKER_TRIPS


class CircuitBreaker:
    """`trip()` after a failure; `cooling_down()` returns the failure's reason while the cool-down lasts."""

    key_prefix = "llm:breaker:"

    def __init__(self, *, cooldown_seconds: float | None = None, store: BaseCache | None = None) -> None:
        self.cooldown_seconds = settings.LLM_COOLDOWN_SECONDS if cooldown_seconds is None else cooldown_seconds
        self._store = store if store is not None else cache

    async def cooling_down(self, provider: str, model: str) -> str | None:
        """The reason the provider failed, if it is still cooling down; None when it may be tried.

        Asked before every answer, so not through the cache's `aget`: that hops to the one thread the database
        calls queue on. Memory is read at once; another cache (Redis) from a thread of the default pool.
        """
        key = self._key(provider, model)
        if isinstance(self._store, LocMemCache):
            return self._store.get(key)
        return await sync_to_async(self._store.get, thread_sensitive=False)(key)

    async def trip(self, provider: str, model: str, reason: str) -> None:
        BREAKER_TRIPS.labels(model=model, provider=provider).inc()
        await self._trips_count(provider)
        if self.cooldown_seconds <= 0:
            return  # cool-down disabled
        # Whole seconds, at least one: Redis expires keys in seconds and would drop a 0-second entry at once.
        timeout = max(1, math.ceil(self.cooldown_seconds))
        await self._store.aset(self._key(provider, model), reason, timeout=timeout)

    def _key(self, provider: str, model: str) -> str:
        # Hashed: names are free text (colons, spaces), which some cache backends refuse in keys. A provider's name
        # is unique in its chain (`FallbackChain` refuses two alike), so it keys the cool-down as well as an address.
        digest = hashlib.sha256(f"{provider}\n{model}".encode()).hexdigest()[:32]
        return f"{self.key_prefix}{digest}"

    def trips(self, provider: str) -> int:
        """How often `provider` failed and was tripped, over every process, since the cache was last cleared."""
        return int(self._store.get(self._trips_key(provider), 0))

    async def _trips_count(self, provider: str) -> None:
        key = self._trips_key(provider)
        await self._store.aadd(key, 0, timeout=None)
        with contextlib.suppress(ValueError):  # evicted in between: this trip goes uncounted
            await self._store.aincr(key)

    def _trips_key(self, provider: str) -> str:
        return f"llm:breaker-trips:{hashlib.sha256(provider.encode()).hexdigest()[:32]}"
