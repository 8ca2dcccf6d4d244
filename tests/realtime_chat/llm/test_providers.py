"""Our providers against real servers: the local model over Ollama's API and its OpenAI-compatible API."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

import ollama
import pytest

from realtime_chat.llm.errors import ProviderUnavailable
from realtime_chat.llm.ollama_provider import OllamaProvider
from realtime_chat.llm.openai_provider import OpenAICompatibleProvider
from realtime_chat.llm.types import ChatMessage, GenerationOptions, Timeouts, Token
from tests.realtime_chat.llm.events import assert_well_formed, collect, text_of
from tests.servers import MODEL_NAME, LocalModelServer

QUESTION = [ChatMessage(role="user", content="What is the capital of France?")]
SHORT = GenerationOptions(max_tokens=16)


@pytest.mark.llm
async def test_ollama_provider_streams_started_tokens_finished(
    local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    provider = OllamaProvider(local_server.url, name="ollama", model=MODEL_NAME, timeouts=patient_timeouts)
    events = await collect(provider.stream(QUESTION, SHORT))
    started, finished = assert_well_formed(events)
    assert started.provider == "ollama"
    assert started.model == MODEL_NAME
    assert started.fallback_from == ()
    assert text_of(events).strip()
    assert finished.prompt_tokens > 10
    assert 0 < finished.completion_tokens <= 16
    assert finished.done_reason in {"stop", "length"}


@pytest.mark.llm
async def test_ollama_provider_lists_models(local_server: LocalModelServer, patient_timeouts: Timeouts) -> None:
    provider = OllamaProvider(local_server.url, name="ollama", model=MODEL_NAME, timeouts=patient_timeouts)
    [model] = await provider.models()
    assert model.name == MODEL_NAME
    assert model.provider == provider.name
    assert model.size > 0
    assert model.details["family"] == "llama"


@pytest.mark.llm
async def test_ollama_provider_reports_a_missing_model_as_unavailable(
    local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    provider = OllamaProvider(local_server.url, name="ollama", model="llama3:70b", timeouts=patient_timeouts)
    with pytest.raises(ProviderUnavailable) as raised:
        await collect(provider.stream(QUESTION, SHORT))
    assert "not found" in raised.value.reason
    assert "404" in raised.value.reason


async def test_ollama_provider_reports_a_refused_connection(closed_port_url: str, quick_timeouts: Timeouts) -> None:
    provider = OllamaProvider(closed_port_url, name="ollama", model=MODEL_NAME, timeouts=quick_timeouts)
    with pytest.raises(ProviderUnavailable) as raised:
        await collect(provider.stream(QUESTION, SHORT))
    assert raised.value.reason == "connection refused"
    with pytest.raises(ProviderUnavailable):
        await provider.models()


async def test_ollama_provider_gives_up_on_a_silent_server(black_hole_url: str, quick_timeouts: Timeouts) -> None:
    provider = OllamaProvider(black_hole_url, name="ollama", model=MODEL_NAME, timeouts=quick_timeouts)
    started = time.perf_counter()
    with pytest.raises(ProviderUnavailable) as raised:
        await collect(provider.stream(QUESTION, SHORT))
    assert raised.value.reason == "no first token within 1s"
    assert time.perf_counter() - started < 5  # the deadline, not some socket default, ended the wait


@pytest.mark.llm
async def test_stopping_to_read_closes_the_stream_and_frees_the_server(
    local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    provider = OllamaProvider(local_server.url, name="ollama", model=MODEL_NAME, timeouts=patient_timeouts)
    story = [ChatMessage(role="user", content="Write a very long story about a dragon and a knight.")]
    async with aclosing(provider.stream(story, GenerationOptions(max_tokens=2000))) as events:
        async for event in events:
            if isinstance(event, Token):
                break

    async with ollama.AsyncClient(host=local_server.url) as client:
        answer = await client.chat(MODEL_NAME, [{"role": "user", "content": "Hi"}], options={"num_predict": 4})
    # Time spent waiting for the model: the abandoned 2000-token answer would hold it for tens of seconds.
    assert answer.load_duration < 3_000_000_000


@pytest.mark.llm
async def test_openai_compatible_provider_streams_with_usage(
    local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    provider = OpenAICompatibleProvider(
        f"{local_server.url}/v1",
        name="openai-compatible",
        model=MODEL_NAME,
        api_key="unused-locally",
        timeouts=patient_timeouts,
    )
    events = await collect(provider.stream(QUESTION, SHORT))
    started, finished = assert_well_formed(events)
    assert started.provider == "openai-compatible"
    assert text_of(events).strip()
    assert finished.prompt_tokens > 10
    assert 0 < finished.completion_tokens <= 16


@pytest.mark.llm
async def test_openai_compatible_provider_lists_models(
    local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    provider = OpenAICompatibleProvider(
        local_server.url, name="openai-compatible", model=MODEL_NAME, timeouts=patient_timeouts
    )
    assert [model.name for model in await provider.models()] == [MODEL_NAME]


@pytest.mark.llm
async def test_openai_compatible_provider_reports_a_missing_model(
    local_server: LocalModelServer, patient_timeouts: Timeouts
) -> None:
    provider = OpenAICompatibleProvider(
        local_server.url, name="openai-compatible", model="gpt-4o", timeouts=patient_timeouts
    )
    with pytest.raises(ProviderUnavailable) as raised:
        await collect(provider.stream(QUESTION, SHORT))
    assert "not found" in raised.value.reason
    assert "HTTP 404" in raised.value.reason


async def test_openai_compatible_provider_reports_a_refused_connection(
    closed_port_url: str, quick_timeouts: Timeouts
) -> None:
    provider = OpenAICompatibleProvider(
        closed_port_url, name="openai-compatible", model=MODEL_NAME, timeouts=quick_timeouts
    )
    with pytest.raises(ProviderUnavailable) as raised:
        await collect(provider.stream(QUESTION, SHORT))
    assert raised.value.reason == "connection refused"


@pytest.fixture
async def self_quoting_server() -> AsyncIterator[str]:
    """A real HTTP server that answers every request with a 502 quoting its own address, as a proxy's error can."""
    listening: dict[str, str] = {}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), 0
        )
        await reader.readexactly(length)
        url, netloc = listening["url"], listening["url"].removeprefix("http://")
        body = json.dumps({"error": f"no route from {url}/api/chat to the model ({netloc} is a proxy)"}).encode()
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    listening["url"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield listening["url"]


@pytest.mark.parametrize("provider_class", [OllamaProvider, OpenAICompatibleProvider])
async def test_a_reason_quoting_the_servers_address_names_the_provider_instead(
    provider_class: type[OllamaProvider] | type[OpenAICompatibleProvider],
    self_quoting_server: str,
    quick_timeouts: Timeouts,
) -> None:
    """Reasons reach clients (`fallback_from`, the extractive answer); the address stays in the server's logs."""
    provider = provider_class(self_quoting_server, name="models", model=MODEL_NAME, timeouts=quick_timeouts)
    with pytest.raises(ProviderUnavailable) as raised:
        await collect(provider.stream(QUESTION, SHORT))
    assert raised.value.reason == "no route from models/api/chat to the model (models is a proxy) (HTTP 502)"


class CountingOllama:
    """A real HTTP/1.1 server speaking just enough of Ollama's `/api/chat` (one token, then done), keeping
    connections alive, and counting the connections it was opened."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while await reader.readline():  # the request line; empty when the client closed
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            lines = [
                {"model": "m", "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant", "content": "Hi"}},
                {"model": "m", "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 1},
            ]  # fmt: skip
            body = "".join(json.dumps(line) + "\n" for line in lines).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        writer.close()


@pytest.fixture
async def counting_ollama() -> AsyncIterator[CountingOllama]:
    counting = CountingOllama()
    server = await asyncio.start_server(counting.serve, "127.0.0.1", 0)
    counting.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield counting


async def test_answers_in_a_row_reuse_one_kept_alive_connection(
    counting_ollama: CountingOllama, patient_timeouts: Timeouts
) -> None:
    """No client to build and no connection to open before each answer's first token."""
    provider = OllamaProvider(counting_ollama.url, name="ollama", model="m", timeouts=patient_timeouts)
    for _ in range(3):
        assert text_of(await collect(provider.stream(QUESTION, SHORT))) == "Hi"
    assert counting_ollama.connections == 1
