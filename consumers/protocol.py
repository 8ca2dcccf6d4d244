"""The chat socket protocol: close codes, client frames (parsed strictly) and the errors parsing them raises.

Every frame is a JSON object with a `type`. Server frames are typed and built in `realtime_chat.chat.frames`.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from realtime_chat.core.errors import ApplicationError

CLOSE_UNAUTHENTICATED = 4401  # missing, invalid or expired token; or no auth frame in time
CLOSE_NOT_FOUND = 4404  # the session does not exist or is not yours (the same answer)
CLOSE_RATE_LIMITED = 4429  # too many connections a minute


class FrameError(ApplicationError):
    code = "invalid_frame"


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


@dataclass(frozen=True)
class StopFrame:
    pass


@dataclass(frozen=True)
class PingFrame:
    pass


ClientFrame = AuthFrame | MessageFrame | StopFrame | PingFrame


def parse_client_frame(data: Any) -> ClientFrame:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FrameError('A frame must be a JSON object with a "type".')
    kind = data["type"]
    if kind == "auth":
        return AuthFrame(token=_string(data, "token"))
    if kind == "message":
        return MessageFrame(content=_string(data, "content"), client_id=_client_id(data.get("client_id")))
    if kind == "stop":
        return StopFrame()
    if kind == "ping":
        return PingFrame()
    raise FrameError(f"Unknown frame type {kind[:40]!r}. Expected auth, message, stop or ping.")


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
