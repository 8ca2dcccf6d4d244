"""The chat socket protocol: close codes, client frames (parsed strictly) and the errors parsing them raises.

Every frame is a JSON object with a `type`. Server frames are typed and built in `realtime_chat.chat.frames`.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from realtime_chat.core.client_input import InvalidCharacters, InvalidJson, json_parse
from realtime_chat.core.errors import ApplicationError

CLOSE_UNAUTHENTICATED = 4401  # missing, invalid or expired token; or no auth frame in time
CLOSE_NOT_FOUND = 4404  # the session does not exist or is not yours (the same answer)
CLOSE_RATE_LIMITED = 4429  # too many connections a minute


class FrameError(ApplicationError):
    code = "invalid_frame"


class FrameNotJson(FrameError):
    code = "invalid_json"  # not JSON, or nested deeper than any frame is


class FrameTooLarge(FrameError):
    code = "frame_too_large"


class FrameCharacters(FrameError):
    code = "invalid_characters"  # NUL or a lone surrogate in a string


class TokenRejected(ApplicationError):
    """A renewal token that is invalid or names another user: the socket keeps the login it has."""

    code = "invalid_token"


class TokenExpired(ApplicationError):
    """Sent just before the socket closes with 4401: its access token expired and was not renewed."""

    code = "token_expired"


@dataclass(frozen=True)
class AuthFrame:
    token: str


@dataclass(frozen=True)
class MessageFrame:
    content: str
    client_id: uuid.UUID | None
    attachments: tuple[int, ...] = ()  # ids of images the sender uploaded (the turn checks how many and whose)


@dataclass(frozen=True)
class StopFrame:
    pass


@dataclass(frozen=True)
class PingFrame:
    pass


@dataclass(frozen=True)
class TypingFrame:
    pass


ClientFrame = AuthFrame | MessageFrame | StopFrame | PingFrame | TypingFrame


def parse_client_text(text: str) -> ClientFrame:
    """A text frame as the client sent it, parsed and checked: size, JSON, nesting and characters first, in bounded
    time, then its shape. Every way it can be wrong is a FrameError, answered with an error frame."""
    limit = max_frame_chars()
    if len(text) > limit:
        raise FrameTooLarge(f"A frame may be at most {limit} characters; this one is {len(text)}.")
    try:
        data = json_parse(text)
    except InvalidJson as exc:
        raise FrameNotJson(exc.detail) from exc
    except InvalidCharacters as exc:
        raise FrameCharacters(exc.detail) from exc
    return parse_client_frame(data)


def max_frame_chars() -> int:
    """The longest message, every character written as a surrogate-pair escape (12 characters), and room around."""
    return 12 * settings.CHAT_MAX_MESSAGE_CHARS + 4096


def parse_client_frame(data: Any) -> ClientFrame:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FrameError('A frame must be a JSON object with a "type".')
    kind = data["type"]
    if kind == "auth":
        return AuthFrame(token=_string(data, "token"))
    if kind == "message":
        return MessageFrame(
            content=_string(data, "content"),
            client_id=_client_id(data.get("client_id")),
            attachments=_attachment_ids(data.get("attachments")),
        )
    if kind == "stop":
        return StopFrame()
    if kind == "ping":
        return PingFrame()
    if kind == "typing":
        return TypingFrame()
    raise FrameError(f"Unknown frame type {kind[:40]!r}. Expected auth, message, stop, ping or typing.")


def _string(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise FrameError(f'"{key}" must be a string.')
    return value


def _client_id(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise FrameError('"client_id" must be a UUID.') from exc


MAX_ATTACHMENT_IDS = 64  # parsing bound only: the turn refuses more than ATTACHMENTS_PER_MESSAGE with its own error


def _attachment_ids(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > MAX_ATTACHMENT_IDS
        or not all(isinstance(item, int) and not isinstance(item, bool) and item > 0 for item in value)
    ):
        raise FrameError('"attachments" must be a list of attachment ids (positive integers).')
    return tuple(value)
