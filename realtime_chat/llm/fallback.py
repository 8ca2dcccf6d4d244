"""Try providers in order until one starts answering; once it has, stay with it whatever happens.

Switching only before the first token means a user never sees two models' text mixed in one answer (Haystack's
`FallbackChatGenerator` makes the same choice). A failed provider is skipped for a cool-down (`CircuitBreaker`).
In front of each model server the chain waits for a place in its fair queue (`queueing`); a wait that runs out
skips the server without blaming it. Providers are told apart by name, in what clients see and in the cool-down,
so two of a chain never share one.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from realtime_chat.llm.circuit_breaker import CircuitBreaker
from realtime_chat.llm.errors import GenerationInterrupted, NoProviderAvailable, ProviderUnavailable
from realtime_chat.llm.queueing import FairQueue, Place
from realtime_chat.llm.types import (
    ChatMessage,
    EventStream,
    GenerationOptions,
    LLMProvider,
    ModelInfo,
    Queued,
    Started,
    Token,
)

QueueFor = Callable[[LLMProvider], FairQueue | None]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChainEntry:
    provider: LLMProvider
    model: str

    @property
    def label(self) -> str:
        """The entry as clients see it (in `fallback_from`): the provider's name, never its address."""
        return f"{self.provider.name}/{self.model}"


class FallbackChain:
    """An `LLMProvider` over ordered entries. The entry decides the model: `options.model` is replaced by it."""

    name = "fallback"
    address = "in-process"

    def __init__(
        self, entries: Sequence[ChainEntry], *, breaker: CircuitBreaker | None = None, queue_for: QueueFor | None = None
    ) -> None:
        """Raises `ImproperlyConfigured` if a provider has no name or shares one with another provider (one
        provider may serve several entries). `queue_for` gives the queue in front of a provider (None: no queue)."""
        self.entries = tuple(entries)
        self.breaker = breaker or CircuitBreaker()
        self.queue_for: QueueFor = queue_for or (lambda provider: None)
        _check_names(self.entries)

    async def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> EventStream:
        """Raises `GenerationInterrupted` after `Started`, `NoProviderAvailable` if no entry ever started."""
        skipped: list[str] = []
        queue_ran_out: set[str] = set()  # providers whose queue this answer waited out: not worth a second wait
        for entry in self.entries:
            if (reason := await self.breaker.cooling_down(entry.provider.name, entry.model)) is not None:
                skipped.append(f"{entry.label}: cooling down ({reason})")
                continue
            if entry.provider.name in queue_ran_out:
                skipped.append(f"{entry.label}: busy")
                continue
            attempt = replace(options, model=entry.model, fallback_from=tuple(skipped))
            started = False
            shown: list[str] = []
            try:
                async with self._place(entry.provider, options.asker) as waiting:
                    async for queued in waiting:
                        yield queued
                    async with aclosing(entry.provider.stream(messages, attempt)) as events:
                        async for event in events:
                            started = started or isinstance(event, Started)
                            if isinstance(event, Token):
                                shown.append(event.delta)
                            yield replace(event, fallback_from=tuple(skipped)) if isinstance(event, Started) else event
                return
            except QueueWaitedOut as exc:  # our own queue, not the provider's failure: no cool-down
                queue_ran_out.add(entry.provider.name)
                skipped.append(f"{entry.label}: {exc}")
            except ProviderUnavailable as exc:
                await self.breaker.trip(entry.provider.name, entry.model, exc.reason)
                if started:  # a provider that broke its contract still must not hand over mid-answer
                    raise GenerationInterrupted(exc.provider, exc.reason, "".join(shown)) from exc
                logger.warning(
                    "LLM provider %s at %s unavailable, trying the next: %s",
                    entry.label,
                    entry.provider.address,
                    exc.reason,
                )
                skipped.append(f"{entry.label}: {exc.reason}")
            except GenerationInterrupted as exc:
                await self.breaker.trip(entry.provider.name, entry.model, exc.reason)
                logger.warning(
                    "LLM provider %s at %s interrupted mid-answer: %s", entry.label, entry.provider.address, exc.reason
                )
                raise
        raise NoProviderAvailable(tuple(skipped))

    @asynccontextmanager
    async def _place(self, provider: LLMProvider, asker: str) -> AsyncIterator[AsyncIterator[Queued]]:
        """Hold a place in the provider's queue (if it has one) for the block; the block first iterates the
        `Queued` events of the wait. The provider's own deadlines start only once the place is granted."""
        queue = self.queue_for(provider)
        if queue is None:
            yield _no_wait()
            return
        async with queue.place(asker) as place:
            yield _waiting(place, provider.name)

    async def models(self) -> list[ModelInfo]:
        """Every model of every reachable provider (a provider serving several entries is asked once)."""
        providers = list({entry.provider.name: entry.provider for entry in self.entries}.values())
        listings = await asyncio.gather(*(_models_or_none(provider) for provider in providers))
        return [model for listing in listings for model in listing]


class QueueWaitedOut(Exception):
    def __init__(self) -> None:
        super().__init__(f"busy: no place at the model server within {settings.LLM_QUEUE_TIMEOUT_SECONDS:g}s")


async def _no_wait() -> AsyncIterator[Queued]:
    return
    yield


async def _waiting(place: Place, provider: str) -> AsyncIterator[Queued]:
    deadline = asyncio.get_running_loop().time() + settings.LLM_QUEUE_TIMEOUT_SECONDS
    try:
        async for position in place.positions(deadline=deadline):
            yield Queued(provider=provider, position=position)
    except TimeoutError:
        raise QueueWaitedOut() from None


def _check_names(entries: Sequence[ChainEntry]) -> None:
    named: dict[str, LLMProvider] = {}
    for entry in entries:
        name = entry.provider.name
        if not name.strip():
            raise ImproperlyConfigured(f"the provider at {entry.provider.address} has an empty name")
        if named.setdefault(name, entry.provider) is not entry.provider:
            raise ImproperlyConfigured(f"two providers of the chain are named {name!r}: each needs a name of its own")


async def _models_or_none(provider: LLMProvider) -> list[ModelInfo]:
    try:
        return await provider.models()
    except ProviderUnavailable as exc:
        logger.info("Not listing models of %s at %s: %s", provider.name, provider.address, exc.reason)
        return []
