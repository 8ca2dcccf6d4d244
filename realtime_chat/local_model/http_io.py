"""What both APIs share: reading and checking JSON bodies, and writing a streamed answer.

Each API turns `BadRequest` into its own error shape.
"""

import json
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any

from aiohttp import web

from realtime_chat.local_model.model import GenerationFailed


class BadRequest(Exception):
    pass


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def optional_number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{key} must be a number")
    return float(value)


def optional_integer(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer")
    return value


def optional_boolean(body: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false")
    return value


def stop_strings(body: Mapping[str, Any], key: str = "stop") -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise BadRequest(f"{key} must be a string or a list of strings")


def required_string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key} is required")
    return value


def chat_messages(body: Mapping[str, Any]) -> list[dict[str, str]]:
    """`messages` as the chat template expects them: role and text content only."""
    messages = body.get("messages") or []
    if not isinstance(messages, list):
        raise BadRequest("messages must be a list")
    cleaned = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest("each message needs a role")
        cleaned.append({"role": message["role"], "content": _text(message.get("content"))})
    return cleaned


def _text(content: object) -> str:
    """A message's text: a string, or OpenAI's list of parts, of which the `text` ones are kept."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    raise BadRequest("message content must be a string")


async def stream_response(
    request: web.Request,
    chunks: AsyncGenerator[bytes, None],
    *,
    content_type: str,
    failure: Callable[[GenerationFailed], bytes],
) -> web.StreamResponse:
    """Write `chunks` as they come. A client that leaves closes `chunks`, which stops the generation."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    try:
        async with aclosing(chunks):
            async for chunk in chunks:
                await response.write(chunk)
    except ConnectionResetError:
        return response
    except GenerationFailed as exc:
        await response.write(failure(exc))  # headers are gone: report in-band, as Ollama and OpenAI do
    await response.write_eof()
    return response
