"""Any server with OpenAI's chat-completions API: vLLM, LM Studio, llama.cpp's server, hosted APIs, Ollama's /v1."""

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import httpx

from realtime_chat.llm.errors import ProviderUnavailable
from realtime_chat.llm.streaming import (
    NetworkProvider,
    Piece,
    describe_transport_error,
    shared_ssl_context,
    wire_messages,
)
from realtime_chat.llm.types import ChatMessage, Finished, GenerationOptions, ModelInfo, Timeouts, Token


class ServerError(Exception):
    """The server answered with an HTTP error or an `error` object in the stream."""


class OpenAICompatibleProvider(NetworkProvider):
    """Streams `POST {base}/v1/chat/completions` as server-sent events; `base` may end in `/v1` or not. Clients
    know it as `name`."""

    failures = (httpx.HTTPError, OSError, ValueError, ServerError)

    def __init__(
        self, base_url: str, *, name: str, model: str, api_key: str = "", timeouts: Timeouts | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        super().__init__(self.base_url, name=name, model=model, timeouts=timeouts)
        self._api_key = api_key

    async def models(self) -> list[ModelInfo]:
        timeout = httpx.Timeout(self._timeouts.idle, connect=self._timeouts.connect)
        try:
            async with self._client(timeout) as client:
                response = await client.get("/v1/models")
                await _raise_for_status(response)
                listing = response.json()["data"]
        except (*self.failures, KeyError, TypeError) as exc:
            raise ProviderUnavailable(self.name, self._reason(exc)) from exc
        return [
            ModelInfo(name=entry["id"], provider=self.name, details={"owned_by": entry.get("owned_by")})
            for entry in listing
        ]

    async def _pieces(
        self, model: str, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[Piece, None]:
        payload = {
            "model": model,
            "messages": wire_messages(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": options.temperature,
            "top_p": options.top_p,
            "max_tokens": options.max_tokens,
        }
        # Reads are bounded by the first-token and idle deadlines of `guarded_stream`, not by httpx.
        async with (
            self._client(httpx.Timeout(None, connect=self._timeouts.connect)) as client,
            client.stream("POST", "/v1/chat/completions", json=payload) as response,
        ):
            await _raise_for_status(response)
            async with aclosing(_parse_events(response.aiter_lines())) as pieces:
                async for piece in pieces:
                    yield piece

    def _client(self, timeout: httpx.Timeout) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        return httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=headers, verify=shared_ssl_context())

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, ServerError):
            return str(exc)
        return describe_transport_error(exc)


async def _parse_events(lines: AsyncIterator[str]) -> AsyncGenerator[Piece, None]:
    """Turn `data:` lines into pieces; usage may arrive in its own chunk after the finish reason."""
    finish_reason: str | None = None
    usage: dict[str, Any] = {}
    ended = False
    async for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, `event:` and `:` comment lines
        data = line.removeprefix("data:").strip()
        if ended := data == "[DONE]":
            break
        chunk = json.loads(data)
        if not isinstance(chunk, dict):
            raise ServerError(f"unexpected event: {data[:100]}")
        if error := chunk.get("error"):
            raise ServerError(error.get("message", str(error)) if isinstance(error, dict) else str(error))
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            yield Token((choice.get("delta") or {}).get("content") or "")
            finish_reason = choice.get("finish_reason") or finish_reason
    if not ended and finish_reason is None:
        return  # cut off before the end: `guarded_stream` reports it
    yield Finished(
        prompt_tokens=usage.get("prompt_tokens") or 0,
        completion_tokens=usage.get("completion_tokens") or 0,
        done_reason=finish_reason or "stop",
    )


async def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    await response.aread()
    raise ServerError(f"{_error_message(response)} (HTTP {response.status_code})")


def _error_message(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    error = body.get("error", body) if isinstance(body, dict) else body
    return error.get("message", str(error)) if isinstance(error, dict) else str(error)
