"""The OpenAI-compatible endpoints Ollama also serves: `GET /v1/models` and `POST /v1/chat/completions`.

Streaming is server-sent events (`data: {chunk}`), ending with `data: [DONE]`; with
`stream_options.include_usage` a last chunk with empty `choices` carries the token usage.
"""

import itertools
import json
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from aiohttp import web

from realtime_chat.local_model.http_io import (
    BadRequest,
    chat_messages,
    json_object,
    optional_boolean,
    optional_integer,
    optional_number,
    required_string,
    stop_strings,
    stream_response,
)
from realtime_chat.local_model.model import Completion, GenerationFailed, LocalModel, PromptTooLong, Sampling

_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


class OpenAiApi:
    def __init__(self, model: LocalModel) -> None:
        self.model = model
        self._ids = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v1/models", self.models), web.post("/v1/chat/completions", self.chat_completions)]

    async def models(self, request: web.Request) -> web.Response:
        entry = {
            "id": self.model.name,
            "object": "model",
            "created": int(self.model.modified_at.timestamp()),
            "owned_by": "library",
        }
        return web.json_response({"object": "list", "data": [entry]})

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await json_object(request)
            name = required_string(body, "model")
            if not self.model.answers_to(name):
                return _error(404, f'model "{name}" not found, try pulling it first')
            messages = chat_messages(body)
            if not messages:
                raise BadRequest("messages is required")
            prompt, sampling = self.model.chat_prompt(messages), _sampling(body)
            stream = optional_boolean(body, "stream", default=False)
            options = body.get("stream_options") or {}
            include_usage = isinstance(options, dict) and optional_boolean(options, "include_usage", default=False)
        except (BadRequest, PromptTooLong) as exc:
            return _error(400, str(exc))
        header = {
            "id": f"chatcmpl-{next(self._ids)}",
            "created": int(time.time()),
            "model": self.model.name,
            "system_fingerprint": "fp_ollama",
        }
        if stream:
            return await stream_response(
                request,
                _events(self.model.generate(prompt, sampling), header, include_usage=include_usage),
                content_type="text/event-stream",
                failure=lambda exc: _event({"error": {"message": str(exc), "type": "api_error"}}),
            )
        try:
            text, completion = await self.model.complete(prompt, sampling)
        except GenerationFailed as exc:
            return _error(500, str(exc))
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": completion.done_reason,
        }
        answer = {**header, "object": "chat.completion", "choices": [choice], "usage": _usage(completion)}
        return web.json_response(answer)


async def _events(
    items: AsyncGenerator[str | Completion, None], header: dict[str, Any], *, include_usage: bool
) -> AsyncGenerator[bytes, None]:
    chunk = {**header, "object": "chat.completion.chunk"}
    async with aclosing(items):
        async for item in items:
            if isinstance(item, Completion):
                yield _event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": item.done_reason}]})
                if include_usage:
                    yield _event({**chunk, "choices": [], "usage": _usage(item)})
            else:
                delta = {"role": "assistant", "content": item}
                yield _event({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    yield b"data: [DONE]\n\n"


def _sampling(body: dict[str, Any]) -> Sampling:
    max_tokens = optional_integer(body, "max_completion_tokens") or optional_integer(body, "max_tokens")
    return Sampling.given(
        temperature=optional_number(body, "temperature"),
        top_p=optional_number(body, "top_p"),
        max_tokens=max_tokens,
        seed=optional_integer(body, "seed"),
        stop=stop_strings(body),
    )


def _usage(completion: Completion) -> dict[str, int]:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
    }


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _error(status: int, message: str) -> web.Response:
    error = {"message": message, "type": _ERROR_TYPES.get(status, "api_error"), "param": None, "code": None}
    return web.json_response({"error": error}, status=status)
