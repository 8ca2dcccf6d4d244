"""A request id on every HTTP request: taken from `X-Request-ID` or generated, echoed back, and put on log lines."""

import logging
import re
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import cast

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from realtime_chat.core.middleware import SyncAndAsyncMiddleware

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Where the id stays on the request for log lines written after the middleware returned (Django keeps its own
# per-request middleware state in META the same way, e.g. CSRF_COOKIE).
_META_KEY = "REQUEST_ID"


@contextmanager
def _identified(request: HttpRequest) -> Iterator[str]:
    """The request's id, from `X-Request-ID` when it is safe to log or else new, current while the block runs."""
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
    request.META[_META_KEY] = request_id
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


class RequestIdMiddleware(SyncAndAsyncMiddleware):
    """Works for sync and async views, so daphne never has to hop threads just for this."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self._async:
            return self.__acall__(request)
        with _identified(request) as request_id:
            # Django hands a sync get_response to a middleware it found sync (`_async` is False).
            response = cast(HttpResponseBase, self.get_response(request))
            response["X-Request-ID"] = request_id
            return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        with _identified(request) as request_id:
            response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
            response["X-Request-ID"] = request_id
            return response


class RequestIdLogFilter(logging.Filter):
    """Django logs 4xx/5xx lines after the middleware has returned; those records carry the request itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)  # an HttpRequest on django.request's lines, a socket on runserver's
        from_request = request.META.get(_META_KEY) if isinstance(request, HttpRequest) else None
        record.request_id = from_request or request_id_var.get()
        return True
