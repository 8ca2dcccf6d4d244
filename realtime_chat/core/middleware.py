"""What every middleware of ours shares: it serves sync and async views alike, so daphne never hops threads for it."""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


class SyncAndAsyncMiddleware:
    """Subclasses branch on `self._async` in `__call__` and give the async path as `__acall__`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)  # type: ignore[type-var]  # the stub wants a function; Django marks instances
