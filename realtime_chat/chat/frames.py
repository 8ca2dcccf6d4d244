"""Every frame the server sends, typed once and built here: by the chat turn, the socket consumer and the SSE view.

Clients are written against these shapes, so a key is added or renamed here or nowhere. Builders are plain dict
literals (the `token` frame is built once per token); `check_server_frame` validates a frame against its TypedDict
and is for tests, never for a production path. Client frames are parsed in `consumers.protocol`.
"""

import types
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal, NotRequired, TypedDict, Union, get_args, get_origin, get_type_hints, is_typeddict

from rag.grounding import Source
from realtime_chat.core.errors import ApplicationError


class AttachmentData(TypedDict):
    """An image posted with a message; its bytes are at /api/attachments/<id>/content/ (and .../thumbnail/)."""

    id: int
    kind: str
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str


class MessageData(TypedDict):
    """A message as frames carry it: the same data as the REST `MessageSerializer` (see `message_data`)."""

    id: int
    session_id: int
    role: Literal["user", "assistant", "system"]
    author: str | None  # the username of whoever wrote it; None for the assistant
    content: str
    status: Literal["complete", "streaming", "cancelled", "error"]
    client_id: str | None
    model: str
    provider: str
    fallback_from: list[str]
    error: str
    prompt_tokens: int | None
    completion_tokens: int | None
    first_token_ms: int | None
    total_ms: int | None
    sources: list[Source]
    attachments: list[AttachmentData]  # a user message's images, at most ATTACHMENTS_PER_MESSAGE
    # An answer to a message with images: the model saw them ("vision") or read their text found by OCR ("ocr").
    image_input: Literal["", "vision", "ocr"]
    persona_id: int | None  # the persona that answered (None: the user's own settings, or it was deleted since)
    persona_name: str  # its name when it answered
    memories_used: list[int]  # ids of the asker's memories its prompt carried
    created_at: str


class Usage(TypedDict):
    """Timings in milliseconds from the turn's start (`provider_first_token_ms`: from the provider's)."""

    prompt_tokens: int | None
    completion_tokens: int | None
    first_token_ms: float | None
    provider_first_token_ms: float | None
    total_ms: float


class ReadyFrame(TypedDict):
    type: Literal["ready"]
    session_id: int
    user: str
    expires_in: int


class AuthRenewedFrame(TypedDict):
    type: Literal["auth.renewed"]
    expires_in: int


class PongFrame(TypedDict):
    type: Literal["pong"]


class MessageCreatedFrame(TypedDict):
    type: Literal["message.created"]
    message: MessageData
    client_id: str | None
    duplicate: NotRequired[bool]  # only on a retried client_id: the message was saved before, nothing follows


class AssistantStartFrame(TypedDict):
    """`persona_*`: who answers (the session's persona; None and "" for the user's own settings);
    `memories_used`: the ids of the asker's memories the prompt carries (only ids: a room's other people see it)."""

    type: Literal["assistant.start"]
    message_id: int
    model: str
    provider: str
    fallback_from: list[str]
    persona_id: int | None
    persona_name: str
    memories_used: list[int]


class AssistantQueuedFrame(TypedDict):
    """The answer waits for a place at the model server: `position` 1 is next. Sent again as it moves up; the
    answer's `assistant.start` ends the wait."""

    type: Literal["assistant.queued"]
    message_id: int
    provider: str
    position: int


class AssistantSnapshotFrame(TypedDict):
    """To a socket that becomes ready while an answer streams: the text so far; `token` frames continue it."""

    type: Literal["assistant.snapshot"]
    message_id: int
    content: str
    offset: int  # len(content): the offset the next `token` frame starts at
    model: str
    provider: str


class TokenFrame(TypedDict):
    """The text the model produced since the last frame (one or many model tokens, one flush window's worth);
    `offset` is the index of `delta`'s first character in the answer text, so a client can tell what it has."""

    type: Literal["token"]
    message_id: int
    delta: str
    offset: int


class SourcesFrame(TypedDict):
    type: Literal["sources"]
    message_id: int
    sources: list[Source]


class AssistantEndFrame(TypedDict):
    type: Literal["assistant.end"]
    message: MessageData
    usage: Usage


class PresenceFrame(TypedDict):
    """Who is online in the session (a user with several tabs once): on every change, and right after `ready`."""

    type: Literal["presence"]
    online: list[str]


class TypingFrame(TypedDict):
    """`user` is typing: to the session's other people's sockets, at most once per 2 s per user."""

    type: Literal["typing"]
    user: str


class MemoryData(TypedDict):
    """A memory as frames carry it: the same data as the REST `MemorySerializer`."""

    id: int
    content: str
    source_session: int | None
    created_at: str


class MemorySavedFrame(TypedDict):
    """To the asker's sockets only: a "remember ..." message was saved as this memory."""

    type: Literal["memory.saved"]
    memory: MemoryData


class MemoryProposedFrame(TypedDict):
    """To the asker's sockets only (`memory_auto`): facts the model proposes to remember from the question of
    `message_id`'s answer; nothing is saved unless the user accepts one (POST /api/memories/)."""

    type: Literal["memory.proposed"]
    message_id: int
    proposals: list[str]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    detail: str
    client_id: NotRequired[str]  # the refused message's, when the error answers one
    errors: NotRequired[dict[str, list[str]]]  # field errors of a refused REST request (SSE only)
    resets_at: NotRequired[str]  # `budget_exceeded`: when the day's token budget starts again (ISO 8601)


ServerFrame = (
    ReadyFrame
    | AuthRenewedFrame
    | PongFrame
    | MessageCreatedFrame
    | AssistantQueuedFrame
    | AssistantStartFrame
    | AssistantSnapshotFrame
    | TokenFrame
    | SourcesFrame
    | AssistantEndFrame
    | PresenceFrame
    | TypingFrame
    | MemorySavedFrame
    | MemoryProposedFrame
    | ErrorFrame
)


# --- Builders -----------------------------------------------------------------------------------


def ready(*, session_id: int, user: str, expires_in: int) -> ReadyFrame:
    return {"type": "ready", "session_id": session_id, "user": user, "expires_in": expires_in}


def auth_renewed(*, expires_in: int) -> AuthRenewedFrame:
    return {"type": "auth.renewed", "expires_in": expires_in}


def pong() -> PongFrame:
    return {"type": "pong"}


def message_created(
    *, message: MessageData, client_id: uuid.UUID | None, duplicate: bool = False
) -> MessageCreatedFrame:
    frame: MessageCreatedFrame = {
        "type": "message.created",
        "message": message,
        "client_id": None if client_id is None else str(client_id),
    }
    if duplicate:
        frame["duplicate"] = True
    return frame


def assistant_start(
    *, message_id: int, model: str, provider: str, fallback_from: Sequence[str],
    persona_id: int | None = None, persona_name: str = "", memories_used: Sequence[int] = (),
) -> AssistantStartFrame:  # fmt: skip
    return {
        "type": "assistant.start",
        "message_id": message_id,
        "model": model,
        "provider": provider,
        "fallback_from": list(fallback_from),
        "persona_id": persona_id,
        "persona_name": persona_name,
        "memories_used": list(memories_used),
    }


def assistant_queued(*, message_id: int, provider: str, position: int) -> AssistantQueuedFrame:
    return {"type": "assistant.queued", "message_id": message_id, "provider": provider, "position": position}


def assistant_snapshot(*, message_id: int, content: str, model: str, provider: str) -> AssistantSnapshotFrame:
    return {
        "type": "assistant.snapshot",
        "message_id": message_id,
        "content": content,
        "offset": len(content),
        "model": model,
        "provider": provider,
    }


def token(*, message_id: int, delta: str, offset: int) -> TokenFrame:
    return {"type": "token", "message_id": message_id, "delta": delta, "offset": offset}


def sources(*, message_id: int, sources: list[Source]) -> SourcesFrame:
    return {"type": "sources", "message_id": message_id, "sources": sources}


def assistant_end(*, message: MessageData, usage: Usage) -> AssistantEndFrame:
    return {"type": "assistant.end", "message": message, "usage": usage}


def presence(*, online: list[str]) -> PresenceFrame:
    return {"type": "presence", "online": online}


def typing(*, user: str) -> TypingFrame:
    return {"type": "typing", "user": user}


def memory_saved(*, memory: MemoryData) -> MemorySavedFrame:
    return {"type": "memory.saved", "memory": memory}


def memory_proposed(*, message_id: int, proposals: list[str]) -> MemoryProposedFrame:
    return {"type": "memory.proposed", "message_id": message_id, "proposals": proposals}


def error(
    *, code: str, detail: str, client_id: uuid.UUID | None = None, errors: dict[str, list[str]] | None = None
) -> ErrorFrame:
    """The one error frame; `client_id` and `errors` appear only when given."""
    frame: ErrorFrame = {"type": "error", "code": code, "detail": detail}
    if client_id is not None:
        frame["client_id"] = str(client_id)
    if errors is not None:
        frame["errors"] = errors
    return frame


def error_from(exc: ApplicationError, *, client_id: uuid.UUID | None = None) -> ErrorFrame:
    frame = error(code=exc.code, detail=exc.detail, client_id=client_id)
    if "resets_at" in exc.extra:
        frame["resets_at"] = str(exc.extra["resets_at"])
    return frame


# --- Validation (tests only) --------------------------------------------------------------------


@cache
def _schemas() -> dict[str, type]:
    """Frame type -> its TypedDict, read from the `type` Literal of each member of `ServerFrame`."""
    return {get_args(get_type_hints(schema)["type"])[0]: schema for schema in get_args(ServerFrame)}


def check_server_frame(frame: Any) -> None:
    """Raise ValueError unless `frame` is exactly one of the `ServerFrame` shapes: no key missing or unexpected,
    every value of its declared type (nested TypedDicts and lists included; a bool is not an int)."""
    kind = frame.get("type") if isinstance(frame, dict) else None
    if not isinstance(kind, str) or kind not in _schemas():
        raise ValueError(f"not a known server frame: {frame!r}")
    _check(frame, _schemas()[kind], kind)


def _check(value: Any, expected: Any, path: str) -> None:
    origin = get_origin(expected)
    if is_typeddict(expected):
        _check_typed_dict(value, expected, path)
    elif origin is Literal:
        if not any(_same_literal(value, allowed) for allowed in get_args(expected)):
            raise ValueError(f"{path}: expected one of {get_args(expected)}, got {value!r}")
    elif origin in (Union, types.UnionType):
        _check_union(value, get_args(expected), path)
    elif origin is list:
        _check_instance(value, list, path)
        for index, item in enumerate(value):
            _check(item, get_args(expected)[0], f"{path}[{index}]")
    elif origin is dict:
        _check_instance(value, dict, path)
        key_type, value_type = get_args(expected)
        for key, item in value.items():
            _check(key, key_type, f"{path} key")
            _check(item, value_type, f"{path}[{key!r}]")
    elif expected is type(None):
        if value is not None:
            raise ValueError(f"{path}: expected null, got {value!r}")
    elif expected is float:
        _check_instance(value, (int, float), path)  # an int is a float (PEP 484); JavaScript writes 3.0 as 3
    elif expected in (int, str, bool):
        _check_instance(value, expected, path)
    else:
        raise TypeError(f"{path}: check_server_frame cannot check {expected!r}; teach it or change the schema")


def _check_typed_dict(value: Any, schema: Any, path: str) -> None:
    _check_instance(value, dict, path)
    missing = schema.__required_keys__ - value.keys()
    unexpected = value.keys() - schema.__required_keys__ - schema.__optional_keys__
    if missing or unexpected:
        raise ValueError(f"{path}: missing {sorted(missing)}, unexpected {sorted(unexpected)}: {value!r}")
    hints = get_type_hints(schema)
    for key, item in value.items():
        _check(item, hints[key], f"{path}.{key}")


def _check_union(value: Any, options: tuple[Any, ...], path: str) -> None:
    if value is None and type(None) in options:
        return
    candidates = [option for option in options if option is not type(None)]
    if len(candidates) == 1:  # `X | None`: report X's own error, which says where inside X it went wrong
        _check(value, candidates[0], path)
        return
    for option in candidates:
        try:
            _check(value, option, path)
        except ValueError:
            continue
        return
    raise ValueError(f"{path}: expected {' | '.join(map(repr, options))}, got {value!r}")


def _check_instance(value: Any, expected: type | tuple[type, ...], path: str) -> None:
    if isinstance(value, bool) and bool not in (expected if isinstance(expected, tuple) else (expected,)):
        raise ValueError(f"{path}: expected {expected!r}, got the bool {value!r}")
    if not isinstance(value, expected):
        raise ValueError(f"{path}: expected {expected!r}, got {value!r}")


def _same_literal(value: Any, allowed: Any) -> bool:
    """Equal and of the same kind: `1 == True`, but a count is not a flag (a str enum member is its str)."""
    return (
        value == allowed and isinstance(value, bool) == isinstance(allowed, bool) and isinstance(value, type(allowed))
    )
