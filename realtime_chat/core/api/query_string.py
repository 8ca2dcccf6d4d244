"""Query strings are held to the rule of every client's text (core.client_input): no NUL."""

from collections.abc import Awaitable
from typing import cast

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from realtime_chat.core.api.errors import client_error
from realtime_chat.core.client_input import InvalidCharacters
from realtime_chat.core.middleware import SyncAndAsyncMiddleware


class QueryStringMiddleware(SyncAndAsyncMiddleware):
    """Refuses a query string holding a NUL (`%00`, the only way one reaches a decoded parameter; Django decodes
    invalid UTF-8 there to U+FFFD, so no lone surrogate can), before any view hands it to a query: PostgreSQL would
    answer a 500. Sync and async alike, so daphne never hops threads for it."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self._async:
            return self.__acall__(request)
        if _holds_nul(request):
            return _refused(request)
        return cast(HttpResponseBase, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if _holds_nul(request):
            return _refused(request)
        return await cast(Awaitable[HttpResponseBase], self.get_response(request))


def _holds_nul(request: HttpRequest) -> bool:
    return "%00" in request.META.get("QUERY_STRING", "")


def _refused(request: HttpRequest) -> HttpResponseBase:
    return client_error(request, InvalidCharacters("The query string holds %00 (NUL), which is not allowed in text."))
