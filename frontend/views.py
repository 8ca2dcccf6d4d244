"""The browser UI: views only render; everything else happens over the API and the socket.

Every route but one renders the same single-page template, and `main.js` picks the view from the path. The emailed
password-reset link opens a page of its own: no chat code runs while the page holds the reset token.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Nothing inline, nothing from another origin: script slipped into the page by a rendering bug cannot run, and
# script that does run can reach no server but this one.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",  # the empty favicon is a data: URL; attached images are blob: URLs
        "connect-src 'self'",  # the API, and the chat socket on the same host
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Powerful features the product never uses: refused to the page and to anything it might embed.
UNUSED_FEATURES = (
    "accelerometer",
    "camera",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "payment",
    "usb",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in UNUSED_FEATURES)


def app(request: HttpRequest) -> HttpResponse:
    return _page(request, "frontend/app.html")


def reset_password(request: HttpRequest) -> HttpResponse:
    return _page(request, "frontend/reset_password.html")


def _page(request: HttpRequest, template: str) -> HttpResponse:
    response = render(request, template, {"debug": settings.DEBUG})
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    return response
