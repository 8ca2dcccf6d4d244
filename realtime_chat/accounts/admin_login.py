"""The admin's login page, behind the limits of the API's login: it shares their counters, per client address and
per username, so neither page is a way around the other."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from realtime_chat.accounts.api.views import LoginApi


def admin_login(request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
    if request.method == "POST":
        wait = _login_attempt_wait(request)
        if wait is not None:
            return HttpResponse(
                f"Too many login attempts. Try again in {wait} seconds.",
                status=429,
                content_type="text/plain; charset=utf-8",
                headers={"Retry-After": str(wait)},
            )
    return admin.site.login(request, extra_context)


def _login_attempt_wait(request: HttpRequest) -> int | None:
    """Counts the attempt as the API's login does (its view and throttles); the seconds to wait when over a limit."""
    view = LoginApi()
    form = Request(request, parsers=[FormParser(), MultiPartParser()])
    try:
        refused = [throttle for throttle in view.get_throttles() if not throttle.allow_request(form, view)]
    except (ParseError, UnsupportedMediaType):
        return None  # a body Django reads as no form at all: no password is tried
    if not refused:
        return None
    return max(1, round(max(throttle.wait() or 0.0 for throttle in refused)))
