"""An Ollama server (or our local model server, which speaks the same API), through the official client."""

import asyncio
import weakref
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any, cast

import httpx
import ollama

from realtime_chat.llm.errors import ProviderUnavailable
from realtime_chat.llm.streaming import (
    NetworkProvider,
    Piece,
    describe_transport_error,
    shared_ssl_context,
    wire_messages,
)
from realtime_chat.llm.types import ChatMessage, Finished, GenerationOptions, ModelInfo, Timeouts, Token


class OllamaProvider(NetworkProvider):
    """Chats with `model` (or `options.model`) on the Ollama server at `host`; clients know it as `name`.

    An answer borrows an idle client of its event loop (`_idle_clients`) and gives it back once its response was
    read whole, so the next answer reuses a kept-alive connection instead of building a client and connecting
    first. Each client holds one answer at a time: one client shared by all answers made every answer's start and
    end scan the whole pool (100 answers at once: first tokens 1.3 s -> 2.1 s). A stopped answer closes its client,
    which tells the server at once that the chat no longer needs the model.
    """

    # What can go wrong on the wire; anything else is a bug and propagates as itself.
    failures = (ollama.ResponseError, httpx.HTTPError, OSError, ValueError)

    def __init__(self, host: str, *, name: str, model: str, timeouts: Timeouts | None = None) -> None:
        self.host = host.rstrip("/")
        super().__init__(self.host, name=name, model=model, timeouts=timeouts)

    async def models(self) -> list[ModelInfo]:
        try:
            async with self._client() as client, asyncio.timeout(self._timeouts.connect + self._timeouts.idle):
                listing = await client.list()
        except (*self.failures, TimeoutError) as exc:
            raise ProviderUnavailable(self.name, self._reason(exc)) from exc
        return [
            ModelInfo(
                name=entry.model or "",
                provider=self.name,
                size=int(entry.size) if entry.size is not None else None,
                details=entry.details.model_dump(exclude_none=True) if entry.details else {},
            )
            for entry in listing.models
        ]

    async def capabilities(self, model: str) -> frozenset[str]:
        """What `model` can do as `/api/show` lists it (`completion`, `vision`, ...); empty if it cannot say."""
        try:
            async with self._client() as client, asyncio.timeout(self._timeouts.connect + self._timeouts.idle):
                shown = await client.show(model)
        except (*self.failures, TimeoutError):
            return frozenset()
        return frozenset(shown.capabilities or ())

    async def _pieces(
        self, model: str, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[Piece, None]:
        idle = _idle_clients.setdefault(asyncio.get_running_loop(), {}).setdefault(
            (self.host, self._timeouts.connect), []
        )
        client = idle.pop() if idle else self._client()
        finished = None
        try:
            request = client.chat(
                model=model,
                messages=_with_images(messages),
                stream=True,
                options={"temperature": options.temperature, "top_p": options.top_p, "num_predict": options.max_tokens},
            )
            # The client declares an AsyncIterator; what it returns is an async generator, which `aclosing` needs.
            async with aclosing(cast(AsyncGenerator[ollama.ChatResponse, None], await request)) as parts:
                async for part in parts:
                    if finished is not None:
                        continue  # read to the end of the body: only a response read whole can be reused
                    yield Token(part.message.content or "")
                    if part.done:
                        finished = Finished(
                            prompt_tokens=part.prompt_eval_count or 0,
                            completion_tokens=part.eval_count or 0,
                            done_reason=part.done_reason or "stop",
                        )
        finally:
            if finished is not None and len(idle) < IDLE_CLIENTS:
                idle.append(client)
            else:  # stopped, failed, or enough kept: closing it is what tells the server the chat left
                await client.close()
        if finished is not None:
            yield finished

    def _client(self) -> ollama.AsyncClient:
        # Reads are bounded by the first-token and idle deadlines of `guarded_stream`, not by httpx.
        return ollama.AsyncClient(
            host=self.host,
            timeout=httpx.Timeout(None, connect=self._timeouts.connect),
            verify=shared_ssl_context(),
        )

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, ollama.ResponseError):
            return f"{exc.error} (HTTP {exc.status_code})" if exc.status_code > 0 else exc.error
        if isinstance(exc, TimeoutError):
            return "timed out"
        return describe_transport_error(exc)


# Idle clients, each with its kept-alive connection, by event loop (a connection belongs to the loop that opened it;
# daphne has one, each test its own), then by (host, connect timeout).
IDLE_CLIENTS = 8
IdleOfLoop = dict[tuple[str, float], list[ollama.AsyncClient]]
_idle_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, IdleOfLoop]" = weakref.WeakKeyDictionary()


def _with_images(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The official client's messages: a message's images go in its `images` (raw bytes; the client encodes)."""
    wired: list[dict[str, Any]] = list(wire_messages(messages))
    for wire, message in zip(wired, messages, strict=True):
        if message.images:
            wire["images"] = list(message.images)
    return wired
