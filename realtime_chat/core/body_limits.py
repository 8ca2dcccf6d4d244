"""Request bodies are capped before they are read. A multipart upload may be as large as REQUEST_MAX_BODY_BYTES;
any other body (JSON, forms) as Django's DATA_UPLOAD_MAX_MEMORY_SIZE. A body over its cap is answered 413 with
the API's JSON error, from its Content-Length before any of it is read, or as soon as a chunked body passes it.

The cap is enforced in two places. daphne reads a whole body into a file, then hands all of it to the application
at once, so only daphne's own request object can refuse early: `bound_daphne_requests()` puts one in place. The
ASGI middleware applies the same rule in front of Django for any other server, and as a second line.
"""

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

from daphne import http_protocol  # type: ignore[import-untyped, unused-ignore]
from django.conf import settings
from twisted.internet.base import DelayedCall
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

# After refusing, daphne keeps reading (and dropping) what the client still sends for at most this long, so the
# client finishes writing and reads the 413 instead of a connection reset (nginx's "lingering close").
LINGER_SECONDS = 5.0


def body_limit(content_type: bytes | None) -> int:
    """The largest body accepted with this Content-Type: only multipart bodies carry files."""
    largest = int(settings.REQUEST_MAX_BODY_BYTES)
    if (content_type or b"").split(b";", 1)[0].strip().lower() == b"multipart/form-data":
        return largest
    form_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return largest if form_limit is None else min(int(form_limit), largest)


def too_large_body(*, limit: int, length: int | None) -> bytes:
    """The 413 answer, in the shape of every API error: a readable `detail` and a stable `code`."""
    if length is None:  # a chunked body, cut off as it passed the limit
        detail = f"The request body is larger than the limit of {limit} bytes."
    else:
        detail = f"The request body is {length} bytes; the limit is {limit} bytes."
    return json.dumps({"detail": detail, "code": "request_too_large", "limit_bytes": limit}).encode()


class BodyLimitMiddleware:
    """ASGI middleware: answers 413 from the Content-Length without receiving the body, or stops a chunked body
    as soon as it passes the cap (the app behind sees the client leave, as Django expects of an early abort)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = body_limit(headers.get(b"content-type"))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _send_too_large(send, limit=limit, length=int(declared))
            return
        await self.app(scope, _counting(receive, send, limit), send)


def _counting(receive: Receive, send: Send, limit: int) -> Receive:
    received = 0
    refused = False

    async def counted() -> Message:
        nonlocal received, refused
        if refused:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                refused = True
                await _send_too_large(send, limit=limit, length=None)
                return {"type": "http.disconnect"}
        return message

    return counted


async def _send_too_large(send: Send, *, limit: int, length: int | None) -> None:
    body = too_large_body(limit=limit, length=length)
    length_header = str(len(body)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", length_header), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BoundedWebRequest(http_protocol.WebRequest):
    """daphne's request, refusing a body over its cap from the headers, or as a chunked body passes it, instead of
    writing it whole to a temporary file and then queueing all of it for the application in memory."""

    content: IO[bytes] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twisted would read every multipart or form POST whole into memory and parse it on the event loop, for a
        # `request.args` that daphne never uses.
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)
        self._body_limit = 0
        self._body_received = 0
        self._refused = False
        self._linger: DelayedCall | None = None

    def gotLength(self, length: int | None) -> None:
        self._body_limit = body_limit(self.requestHeaders.getRawHeaders(b"content-type", [None])[0])
        if length is not None and length > self._body_limit:
            self._refuse(length)
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._body_received += len(data)
        if self._body_received > self._body_limit:
            self._refuse(None)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:  # the whole body has gone by, dropped: the answer is already out
            self._close()
            return
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Failure) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def _refuse(self, length: int | None) -> None:
        """Answer now, before the request line is even handed over (so in raw bytes), and drop the rest."""
        self._refused = True
        if self.content is not None:  # the part of a chunked body written so far
            self.content.close()
            self.content = None
        size = "a chunked body over" if length is None else f"{length} bytes,"
        logger.warning("Refused %s the limit of %d bytes, from %s", size, self._body_limit, self.client)
        # Twisted would otherwise answer `Expect: 100-continue` after this, inviting the body it refuses.
        self.requestHeaders.removeHeader(b"expect")
        body = too_large_body(limit=self._body_limit, length=length)
        head = (
            "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.channel.transport.write(head.encode() + body)
        self._linger = self.channel.callLater(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        if self.channel is not None:
            self.channel.loseConnection()


def bound_daphne_requests() -> None:
    """Make daphne build a BoundedWebRequest for every HTTP request. daphne has no setting for its request class;
    its HTTP factory looks the module's `WebRequest` up each time it builds a connection, so replacing that name
    (before the server starts: `daphne asgi:application` imports the application first) is enough."""
    http_protocol.WebRequest = BoundedWebRequest
