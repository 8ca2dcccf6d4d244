"""Places at a model server, shared fairly: at most `limit` answers at once, waiting turns served round-robin
across the people who asked: whoever holds the fewest places first, then whoever was served longest ago.

A model server slows every answer it runs at once, and past its own limit it queues them where we cannot see;
so the product queues them itself, in front of it. Round-robin by asker means one user's twenty questions wait
behind one another, not in front of everyone else's; and someone with nothing running goes before someone whose
answer is already being generated. The queue is this process's: with several daphne processes,
each admits up to `LLM_MAX_CONCURRENT_PER_PROVIDER` to one model server (the README says how to size it).
"""

import asyncio
import weakref
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from django.conf import settings

from realtime_chat.core.metrics import queue_entered


@dataclass(eq=False)
class Waiter:
    """One turn waiting for a place. `position` is 1 for the next to be served; `moved` is set when it changes."""

    asker: str
    granted: asyncio.Future[None]
    position: int = 0
    moved: asyncio.Event = field(default_factory=asyncio.Event)


class FairQueue:
    """`limit` places; `place(asker)` waits for one, yielding the waiting turn's position whenever it changes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.running = 0
        self._running_for: Counter[str] = Counter()  # places held, by asker
        self._last_served: dict[str, int] = {}  # by asker, on `_clock`: when they last got a place
        self._clock = 0
        self._waiting: dict[str, deque[Waiter]] = {}  # by asker, in the order askers came

    @property
    def waiting(self) -> int:
        return sum(len(turns) for turns in self._waiting.values())

    @asynccontextmanager
    async def place(self, asker: str) -> AsyncIterator["Place"]:
        """Hold a place for the duration of the block; enter it, then `async for position in place.positions()`
        until it is granted. Leaving the block, however, frees the place (or the turn's spot in line)."""
        waiter = None
        if self.running < self.limit and not self._waiting:
            self.running += 1
            self._served(asker)
        else:
            waiter = Waiter(asker=asker, granted=asyncio.get_running_loop().create_future())
            self._waiting.setdefault(asker, deque()).append(waiter)
            self._renumber()
            queue_entered(waiter.granted)
        try:
            yield Place(waiter)
        finally:
            if waiter is not None and not waiter.granted.done():
                waiter.granted.cancel()  # it gave up waiting (timed out, stopped): its wait ends here
                self._withdraw(waiter)
            else:
                self._release(asker)

    def _release(self, asker: str) -> None:
        """A place came free: it goes to the first turn in serving order."""
        self._running_for[asker] -= 1
        if not self._waiting:
            self.running -= 1
            return
        waiter = self._serving_order()[0]
        turns = self._waiting[waiter.asker]
        turns.popleft()
        if not turns:
            del self._waiting[waiter.asker]
        self._served(waiter.asker)
        waiter.granted.set_result(None)
        waiter.moved.set()
        self._renumber()

    def _served(self, asker: str) -> None:
        self._running_for[asker] += 1
        self._clock += 1
        self._last_served[asker] = self._clock

    def _withdraw(self, waiter: Waiter) -> None:
        turns = self._waiting[waiter.asker]
        turns.remove(waiter)
        if not turns:
            del self._waiting[waiter.asker]
        self._renumber()

    def _serving_order(self) -> list[Waiter]:
        """The waiting turns in the order they will be served if nobody else comes: each time, among the askers
        holding the fewest places, the one served longest ago (never first; then the first to have come)."""
        holding = Counter(self._running_for)
        last_served = dict(self._last_served)
        turns = {asker: deque(waiting) for asker, waiting in self._waiting.items()}
        clock, order = self._clock, []
        while turns:
            asker = min(turns, key=lambda name: (holding[name], last_served.get(name, -1)))
            order.append(turns[asker].popleft())
            holding[asker] += 1
            clock += 1
            last_served[asker] = clock
            if not turns[asker]:
                del turns[asker]
        return order

    def _renumber(self) -> None:
        for position, waiter in enumerate(self._serving_order(), start=1):
            if waiter.position != position:
                waiter.position = position
                waiter.moved.set()


class Place:
    def __init__(self, waiter: Waiter | None) -> None:
        self._waiter = waiter

    async def positions(self, *, deadline: float) -> AsyncIterator[int]:
        """The turn's position each time it changes, until a place is granted (nothing if one was free).
        Raises TimeoutError when the loop's clock passes `deadline` first."""
        waiter = self._waiter
        if waiter is None:
            return
        while not waiter.granted.done():
            waiter.moved.clear()
            yield waiter.position
            async with asyncio.timeout_at(deadline):  # around the wait only: never across a yield
                await waiter.moved.wait()


_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, FairQueue]]" = weakref.WeakKeyDictionary()


def provider_queue(provider_name: str) -> FairQueue:
    """The queue in front of one model server (by provider name), for this process's event loop."""
    queues = _queues.setdefault(asyncio.get_running_loop(), {})
    if provider_name not in queues:
        queues[provider_name] = FairQueue(settings.LLM_MAX_CONCURRENT_PER_PROVIDER)
    return queues[provider_name]
