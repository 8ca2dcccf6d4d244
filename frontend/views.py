"""The browser UI: views only render; everything else happens over the API and the socket."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def app(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/app.html")
