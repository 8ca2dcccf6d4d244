"""Ollama's native HTTP API (docs/api.md in ollama/ollama) over the local model.

Streaming answers are NDJSON, one object per text piece, then a final object with `done: true`, the
`done_reason`, the token counts and the durations in nanoseconds. Errors are `{"error": "..."}`.
"""

import functools
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
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
from realtime_chat.local_model.model import (
    Completion,
    GenerationFailed,
    LocalModel,
    Prompt,
    PromptTooLong,
    Sampling,
)

OLLAMA_API_VERSION = "0.12.6"  # the Ollama release whose API this server reproduces

# GGUF `general.file_type` (llama_ftype) to the quantization names Ollama shows.
_QUANTIZATION = {
    "0": "F32", "1": "F16", "2": "Q4_0", "3": "Q4_1", "7": "Q8_0", "8": "Q5_0", "9": "Q5_1",
    "10": "Q2_K", "11": "Q3_K_S", "12": "Q3_K_M", "13": "Q3_K_L", "14": "Q4_K_S", "15": "Q4_K_M",
    "16": "Q5_K_S", "17": "Q5_K_M", "18": "Q6_K",
}  # fmt: skip


Handler = Callable[["OllamaApi", web.Request], Awaitable[web.StreamResponse]]


def _errors_as_json(handler: Handler) -> Handler:
    """Answer bad input with 400 and an unknown model with 404, as Ollama does: `{"error": "..."}`."""

    @functools.wraps(handler)
    async def answer(api: "OllamaApi", request: web.Request) -> web.StreamResponse:
        try:
            return await handler(api, request)
        except (BadRequest, PromptTooLong) as exc:
            return _error(400, str(exc))
        except _UnknownModel as exc:
            return _error(404, str(exc))

    return answer


class OllamaApi:
    def __init__(self, model: LocalModel) -> None:
        self.model = model

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.root),  # aiohttp answers HEAD / too
            web.get("/api/version", self.version),
            web.get("/api/tags", self.tags),
            web.post("/api/show", self.show),
            web.get("/api/ps", self.running),
            web.post("/api/chat", self.chat),
            web.post("/api/generate", self.generate),
        ]

    async def root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": OLLAMA_API_VERSION})

    async def tags(self, request: web.Request) -> web.Response:
        return web.json_response({"models": [self._listing()]})

    async def running(self, request: web.Request) -> web.Response:
        expires = datetime.now(UTC) + timedelta(days=365)  # loaded for as long as the server runs
        entry = {
            **self._listing(),
            "expires_at": _timestamp(expires),
            "size_vram": 0,
            "context_length": self.model.context_length,
        }
        del entry["modified_at"]
        return web.json_response({"models": [entry]})

    @_errors_as_json
    async def show(self, request: web.Request) -> web.Response:
        self._requested_model(await json_object(request))
        metadata = self.model.metadata
        template = metadata.get("tokenizer.chat_template", "")
        return web.json_response(
            {
                "license": metadata.get("general.license", ""),
                "modelfile": f"# Served by realtime_chat's local model server\nFROM {self.model.path}\n",
                "parameters": f"num_ctx {self.model.context_length}",
                "template": template,
                "details": self._details(),
                "model_info": {key: _typed(value) for key, value in metadata.items() if value != template},
                "capabilities": ["completion"],
                "modified_at": _timestamp(self.model.modified_at),
            }
        )

    @_errors_as_json
    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await json_object(request)
        self._requested_model(body)
        messages = chat_messages(body)
        stream, sampling = optional_boolean(body, "stream", default=True), _sampling(body)
        if not messages:  # Ollama's way to load a model without generating
            return web.json_response({**self._stamp(), "message": _assistant(""), **_loaded(body)})
        return await self._answer(
            request,
            self.model.chat_prompt(messages),
            sampling,
            stream=stream,
            content=lambda text: {"message": _assistant(text)},
        )

    @_errors_as_json
    async def generate(self, request: web.Request) -> web.StreamResponse:
        body = await json_object(request)
        self._requested_model(body)
        text, system = body.get("prompt") or "", body.get("system") or ""
        if not isinstance(text, str) or not isinstance(system, str):
            raise BadRequest("prompt and system must be strings")
        stream, sampling = optional_boolean(body, "stream", default=True), _sampling(body)
        if not text:  # Ollama's way to load a model without generating
            return web.json_response({**self._stamp(), "response": "", **_loaded(body)})
        if optional_boolean(body, "raw", default=False):
            prompt = self.model.raw_prompt(text)
        else:
            turns = [{"role": "system", "content": system}] if system else []
            prompt = self.model.chat_prompt([*turns, {"role": "user", "content": text}])
        return await self._answer(request, prompt, sampling, stream=stream, content=lambda text: {"response": text})

    async def _answer(
        self,
        request: web.Request,
        prompt: Prompt,
        sampling: Sampling,
        *,
        stream: bool,
        content: Callable[[str], dict[str, Any]],
    ) -> web.StreamResponse:
        """Stream NDJSON pieces and a final object, or answer with the final object alone holding all the text.

        `content` shapes text the endpoint's way: `{"message": ...}` for chat, `{"response": ...}` for generate.
        """
        if not stream:
            try:
                text, completion = await self.model.complete(prompt, sampling)
            except GenerationFailed as exc:
                return _error(500, str(exc))
            return web.json_response({**self._stamp(), **content(text), **_statistics(completion)})
        return await stream_response(
            request,
            self._lines(self.model.generate(prompt, sampling), content),
            content_type="application/x-ndjson",
            failure=lambda exc: _json_line({"error": str(exc)}),
        )

    async def _lines(
        self, items: AsyncGenerator[str | Completion, None], content: Callable[[str], dict[str, Any]]
    ) -> AsyncGenerator[bytes, None]:
        async with aclosing(items):
            async for item in items:
                if isinstance(item, Completion):
                    yield _json_line({**self._stamp(), **content(""), **_statistics(item)})
                else:
                    yield _json_line({**self._stamp(), **content(item), "done": False})

    def _requested_model(self, body: dict[str, Any]) -> str:
        name = required_string(body, "model")
        if not self.model.answers_to(name):
            raise _UnknownModel(f'model "{name}" not found, try pulling it first')
        return name

    def _stamp(self) -> dict[str, str]:
        return {"model": self.model.name, "created_at": _timestamp(datetime.now(UTC))}

    def _listing(self) -> dict[str, Any]:
        return {
            "name": self.model.name,
            "model": self.model.name,
            "modified_at": _timestamp(self.model.modified_at),
            "size": self.model.size,
            "digest": self.model.digest,
            "details": self._details(),
        }

    def _details(self) -> dict[str, Any]:
        metadata = self.model.metadata
        family = metadata.get("general.architecture", "")
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family] if family else None,
            "parameter_size": metadata.get("general.size_label", ""),
            "quantization_level": _QUANTIZATION.get(metadata.get("general.file_type", ""), "unknown"),
        }


class _UnknownModel(Exception):
    pass


def _sampling(body: dict[str, Any]) -> Sampling:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("options must be an object")
    return Sampling.given(
        temperature=optional_number(options, "temperature"),
        top_p=optional_number(options, "top_p"),
        top_k=optional_integer(options, "top_k"),
        repeat_penalty=optional_number(options, "repeat_penalty"),
        max_tokens=optional_integer(options, "num_predict"),
        seed=optional_integer(options, "seed"),
        stop=stop_strings(options),
    )


def _statistics(completion: Completion) -> dict[str, Any]:
    return {
        "done": True,
        "done_reason": completion.done_reason,
        "total_duration": completion.total_ns,
        "load_duration": completion.load_ns,
        "prompt_eval_count": completion.prompt_tokens,
        "prompt_eval_duration": completion.prompt_eval_ns,
        "eval_count": completion.completion_tokens,
        "eval_duration": completion.eval_ns,
    }


def _loaded(body: dict[str, Any]) -> dict[str, Any]:
    # The model stays loaded either way: it is this server's only model.
    return {"done": True, "done_reason": "unload" if body.get("keep_alive") == 0 else "load"}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _typed(value: str) -> Any:
    """GGUF metadata arrives as strings; Ollama shows numbers as numbers."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def _json_line(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode() + b"\n"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
