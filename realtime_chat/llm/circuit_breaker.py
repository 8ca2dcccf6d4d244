"""Skip a provider that just failed, for a cool-down, so every chat does not wait for the same timeout again.

The state lives in Django's cache (Redis in production), so all daphne processes share it; an entry expires
by itself when the cool-down ends, and the provider is tried again.
"""

import contextlib
import hashlib
import math
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache

from realtime_chat.core.metrics import BREAKER_TRIPS

# Threads of their own for reads from a shared cache (Redis): none of them ever queues behind a database trip.
_READS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="breaker-read")


class CircuitBreaker:
    """`trip()` after a failure; `cooling_down()` returns the failure's reason while the cool-down lasts."""

    key_prefix = "llm:breaker:"

    def __init__(self, *, cooldown_seconds: float | None = None, store: BaseCache | None = None) -> None:
        self.cooldown_seconds = settings.LLM_COOLDOWN_SECONDS if cooldown_seconds is None else cooldown_seconds
        self._given_store = store

    @property
    def _store(self) -> BaseCache:
        """The store given, else the default cache itself (not `django.core.cache.cache`, a proxy to it that no
        backend class matches: through it, memory was read on a thread too)."""
        return self._given_store if self._given_store is not None else caches[DEFAULT_CACHE_ALIAS]

    async def cooling_down(self, provider: str, model: str) -> str | None:
        """The reason the provider failed, if it is still cooling down; None when it may be tried.

        Asked before every answer, so on no thread that database trips queue on: the cache's `aget` hops to
        Channels' database thread, and the loop's default pool holds the turns' openings (100 questions at once
        kept every answer from starting until all of them were saved, ~0.4 s). Memory is read at once; another
        cache (Redis) on a thread kept for these reads.
        """
        key = self._key(provider, model)
        store = self._store
        if isinstance(store, LocMemCache):
            return store.get(key)
        return await sync_to_async(store.get, thread_sensitive=False, executor=_READS)(key)

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
