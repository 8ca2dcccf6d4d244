"""Domain errors raised by services. Each maps once to an HTTP status (api/errors.py) or an error frame."""

from typing import Any


class ApplicationError(Exception):
    """A failure the user can understand and act on. `code` is stable; `detail` is for people."""

    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class NotFound(ApplicationError):
    """Missing and not-yours are the same answer, so a 404 never reveals that something exists."""

    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class Forbidden(ApplicationError):
    """Seen but not allowed: a viewer writing in a shared session, a member managing it."""

    status_code = 403
    code = "forbidden"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class InvalidToken(ApplicationError):
    """A signed link (email verification, password reset) that is forged, expired or already used."""

    code = "invalid_token"


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"
