"""The fallback chain in front of a busy model server: it waits its turn, says where it stands, and a wait that
runs out goes to the next provider without counting against the model server. The real bundled model answers."""

import asyncio

import pytest

from realtime_chat.llm.circuit_breaker import CircuitBreaker
from realtime_chat.llm.extractive import ExtractiveProvider
from realtime_chat.llm.fallback import ChainEntry, FallbackChain
from realtime_chat.llm.ollama_provider import OllamaProvider
from realtime_chat.llm.queueing import FairQueue
from realtime_chat.llm.types import ChatMessage, GenerationOptions, Queued, Started, Timeouts
from tests.realtime_chat.llm.events import collect, text_of
from tests.servers import MODEL_NAME, LocalModelServer

QUESTION = [ChatMessage(role="user", content="What is the capital of France?")]
SHORT = GenerationOptions(max_tokens=8, asker="bob")


def chain_with_queue(url: str, queue: FairQueue, timeouts: Timeouts) -> tuple[FallbackChain, CircuitBreaker]:
    provider = OllamaProvider(url, name="primary", model=MODEL_NAME, timeouts=timeouts)
    entries = [ChainEntry(provider, MODEL_NAME), ChainEntry(ExtractiveProvider(), ExtractiveProvider.model)]
    breaker = CircuitBreaker(cooldown_seconds=30)
    queues = {"primary": queue}
    return FallbackChain(entries, breaker=breaker, queue_for=lambda p: queues.get(p.name)), breaker


@pytest.mark.llm
async def test_a_wait_that_runs_out_falls_back_without_blaming_the_model_server(
    local_server: LocalModelServer, patient_timeouts: Timeouts, settings
) -> None:
    settings.LLM_QUEUE_TIMEOUT_SECONDS = 0.3
    queue = FairQueue(1)
    chain, breaker = chain_with_queue(local_server.url, queue, patient_timeouts)
    async with queue.place("alice"):  # someone else's answer holds the only place
        events = await collect(chain.stream(QUESTION, SHORT))

    assert events[0] == Queued(provider="primary", position=1)
    started = next(event for event in events if isinstance(event, Started))
    assert started.provider == "extractive"
    assert started.fallback_from == ("primary/smollm2:135m: busy: no place at the model server within 0.3s",)
    assert await breaker.cooling_down("primary", MODEL_NAME) is None
    assert (queue.running, queue.waiting) == (0, 0)


@pytest.mark.llm
async def test_the_first_token_deadline_starts_when_the_place_is_granted(
    local_server: LocalModelServer, settings
) -> None:
    """Waiting in our own queue for longer than the first-token timeout is not the model server's failure."""
    settings.LLM_QUEUE_TIMEOUT_SECONDS = 60
    timeouts = Timeouts(connect=5.0, first_token=3.0, idle=15.0)
    queue = FairQueue(1)
    chain, breaker = chain_with_queue(local_server.url, queue, timeouts)
    held = asyncio.Event()

    async def hold_the_place_longer_than_the_first_token_timeout() -> None:
        async with queue.place("alice"):
            held.set()
            await asyncio.sleep(timeouts.first_token + 1)

    holder = asyncio.create_task(hold_the_place_longer_than_the_first_token_timeout())
    await held.wait()
    events = await collect(chain.stream(QUESTION, SHORT))
    await holder

    assert events[0] == Queued(provider="primary", position=1)
    started = next(event for event in events if isinstance(event, Started))
    assert (started.provider, started.fallback_from) == ("primary", ())
    assert text_of(events).strip()
    assert await breaker.cooling_down("primary", MODEL_NAME) is None
