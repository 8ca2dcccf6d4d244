"""The fallback chain against real failures: refused, hung up, silent, killed mid-answer, everything dead."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

import pytest

from realtime_chat.llm.circuit_breaker import CircuitBreaker
from realtime_chat.llm.errors import GenerationInterrupted, NoProviderAvailable
from realtime_chat.llm.fallback import ChainEntry, FallbackChain
from realtime_chat.llm.ollama_provider import OllamaProvider
from realtime_chat.llm.types import ChatMessage, GenerationOptions, ModelInfo, Started, StreamEvent, Timeouts, Token
from tests.realtime_chat.llm.events import assert_well_formed, collect, text_of
from tests.servers import MODEL_NAME, LocalModelServer

QUESTION = [ChatMessage(role="user", content="What is the capital of France?")]
STORY = [ChatMessage(role="user", content="Write a very long story about a dragon and a knight.")]
SHORT = GenerationOptions(max_tokens=16)


@dataclass
class HangingUpListener:
    """A real TCP server that counts connections and closes each at once, answering nothing."""

    url: str = ""
    connections: int = 0

    async def hang_up(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def hanging_up_listener() -> AsyncIterator[HangingUpListener]:
    listener = HangingUpListener()
    server = await asyncio.start_server(listener.hang_up, "127.0.0.1", 0)
    listener.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield listener


def ollama_entry(name: str, url: str, timeouts: Timeouts) -> ChainEntry:
    return ChainEntry(OllamaProvider(url, name=name, model=MODEL_NAME, timeouts=timeouts), MODEL_NAME)


@pytest.mark.llm
async def test_a_refused_primary_falls_back_and_says_why(
    closed_port_url: str, local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    chain = FallbackChain(
        [
            ollama_entry("primary", closed_port_url, patient_timeouts),
            ollama_entry("backup", local_server.url, patient_timeouts),
        ]
    )
    events = await collect(chain.stream(QUESTION, SHORT))
    started, _ = assert_well_formed(events)
    assert started.provider == "backup"
    assert started.fallback_from == (f"primary/{MODEL_NAME}: connection refused",)
    assert text_of(events).strip()


@pytest.mark.llm
async def test_a_failed_provider_is_skipped_while_cooling_down(
    hanging_up_listener: HangingUpListener, local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    dead = ollama_entry("primary", hanging_up_listener.url, patient_timeouts)
    chain = FallbackChain(
        [dead, ollama_entry("backup", local_server.url, patient_timeouts)], breaker=CircuitBreaker(cooldown_seconds=60)
    )

    first = await collect(chain.stream(QUESTION, SHORT))
    assert hanging_up_listener.connections == 1
    assert first[0].fallback_from == (f"{dead.label}: the connection was closed by the server",)

    second = await collect(chain.stream(QUESTION, SHORT))
    assert hanging_up_listener.connections == 1  # not even tried
    assert second[0].fallback_from == (f"{dead.label}: cooling down (the connection was closed by the server)",)


@pytest.mark.llm
async def test_a_silent_provider_times_out_before_the_first_token_and_falls_back(
    black_hole_url: str, local_server: LocalModelServer, quick_timeouts: Timeouts, patient_timeouts: Timeouts
) -> None:
    chain = FallbackChain(
        [
            ollama_entry("primary", black_hole_url, quick_timeouts),
            ollama_entry("backup", local_server.url, patient_timeouts),
        ]
    )
    events = await collect(chain.stream(QUESTION, SHORT))
    started, _ = assert_well_formed(events)
    assert started.provider == "backup"
    assert started.fallback_from == (f"primary/{MODEL_NAME}: no first token within 1s",)


@pytest.mark.llm
async def test_a_provider_killed_mid_answer_interrupts_without_switching_provider(
    doomed_server: LocalModelServer, local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    doomed = ollama_entry("primary", doomed_server.url, patient_timeouts)
    chain = FallbackChain([doomed, ollama_entry("backup", local_server.url, patient_timeouts)])
    seen: list[StreamEvent] = []
    with pytest.raises(GenerationInterrupted) as raised:
        async with aclosing(chain.stream(STORY, GenerationOptions(max_tokens=1000))) as events:
            async for event in events:
                seen.append(event)
                if sum(isinstance(item, Token) for item in seen) == 3:
                    doomed_server.kill()

    assert [event.provider for event in seen if isinstance(event, Started)] == [doomed.provider.name]
    assert raised.value.provider == doomed.provider.name
    assert raised.value.partial_text == text_of(seen)
    assert len(raised.value.partial_text) > 0
    assert await chain.breaker.cooling_down(doomed.provider.name, MODEL_NAME) is not None


async def test_without_a_last_resort_a_dead_chain_raises_with_every_reason(
    closed_port_url: str, hanging_up_listener: HangingUpListener, quick_timeouts: Timeouts
) -> None:
    first = ollama_entry("primary", closed_port_url, quick_timeouts)
    second = ollama_entry("backup", hanging_up_listener.url, quick_timeouts)
    chain = FallbackChain([first, second])
    with pytest.raises(NoProviderAvailable) as raised:
        await collect(chain.stream(QUESTION, SHORT))
    assert raised.value.reasons == (
        f"{first.label}: connection refused",
        f"{second.label}: the connection was closed by the server",
    )


@pytest.mark.llm
async def test_models_lists_reachable_providers_and_skips_dead_ones(
    closed_port_url: str, local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    live = ollama_entry("backup", local_server.url, patient_timeouts)
    chain = FallbackChain(
        [ollama_entry("primary", closed_port_url, patient_timeouts), live, ChainEntry(live.provider, "another-model")]
    )
    models = await chain.models()
    assert [(model.name, model.provider) for model in models] == [(MODEL_NAME, live.provider.name)]
    assert all(isinstance(model, ModelInfo) for model in models)
