"""The browser's refresh token: an HttpOnly cookie instead of a JSON field, so no script on the page can read it.

A client asks for this flow with the `X-Refresh-Cookie: 1` header on login, refresh and logout; without it those
endpoints take and give the token in JSON as before (API clients) and never read the cookie. A cross-site form
cannot send a header, and a cross-site fetch cannot without a CORS preflight allowing it (django-cors-headers'
default CORS_ALLOW_HEADERS do not name it), so another site cannot refresh or log out in a visitor's name; and
SameSite=Strict keeps the browser from sending the cookie on cross-site requests at all.

The token travels only to the two endpoints that use it: one cookie for each path (a cookie has one path, and a
response holds one cookie per name). Both always carry the same token.
"""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from realtime_chat.accounts.services import InvalidRefreshToken

REFRESH_COOKIE_HEADER = "X-Refresh-Cookie"
COOKIES = {"refresh_token": "auth-refresh", "logout_token": "auth-logout"}  # cookie name: the URL it is sent to


def refresh_cookie_requested(request: Request) -> bool:
    return request.headers.get(REFRESH_COOKIE_HEADER) == "1"


def refresh_cookie_read(request: Request) -> str:
    """The token the browser sent (it sends only the cookie of the endpoint asked)."""
    token = next((request.COOKIES[name] for name in COOKIES if request.COOKIES.get(name)), "")
    if not token:
        raise InvalidRefreshToken("No refresh token cookie was sent. Log in again.")
    return token


def token_pair_response(request: Request, pair: dict[str, str]) -> Response:
    """The pair as JSON; for the cookie flow, the access token only, the refresh token set as the cookies."""
    if not refresh_cookie_requested(request):
        return Response(pair)
    response = Response({"access": pair["access"]})
    _cookies_set(response, pair["refresh"], max_age=jwt_settings.REFRESH_TOKEN_LIFETIME)
    return response


def refresh_cookie_delete(response: Response) -> None:
    _cookies_set(response, "", max_age=timedelta(0))


def _cookies_set(response: Response, token: str, *, max_age: timedelta) -> None:
    # Deleting writes the same attributes: a browser may refuse to overwrite a Secure cookie with one that is not.
    for name, url_name in COOKIES.items():
        response.set_cookie(
            name,
            token,
            max_age=max_age,
            path=reverse(url_name),
            secure=settings.REFRESH_COOKIE_SECURE,
            httponly=True,
            samesite="Strict",
        )
