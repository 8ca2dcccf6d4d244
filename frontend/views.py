"""The browser UI: views only render; everything else happens over the API and the socket.

Every route renders the same single-page template; `main.js` picks the view from the path.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def app(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/app.html", {"debug": settings.DEBUG})
