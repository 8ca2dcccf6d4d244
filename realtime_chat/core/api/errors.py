"""The one place errors become HTTP responses: always JSON with a readable `detail`, never an HTML page."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from realtime_chat.core.errors import ApplicationError

logger = logging.getLogger(__name__)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.detail, "code": exc.code, **exc.extra}, status=exc.status_code)
    refused = _refused_form(exc)
    if refused is not None:
        return refused
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            {"detail": "Internal server error. The problem was logged.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": _summarise(response.data),
            "code": "invalid",
            "errors": _as_field_errors(response.data),
        }
    elif isinstance(response.data, dict):
        response.data.setdefault("code", getattr(exc, "default_code", "error"))
    return response


def _refused_form(exc: Exception) -> Response | None:
    """Django's own limits on a request's fields and files, met while parsing it, as the client errors they are."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body (files aside) is larger than the limit of {limit} bytes."
        return Response({"detail": detail, "code": "request_too_large", "limit_bytes": limit}, status=413)
    if isinstance(exc, TooManyFilesSent):
        detail = f"Too many files in one request; the limit is {settings.DATA_UPLOAD_MAX_NUMBER_FILES}."
        return Response({"detail": detail, "code": "too_many_files"}, status=400)
    if isinstance(exc, TooManyFieldsSent):
        detail = f"Too many form fields in one request; the limit is {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}."
        return Response({"detail": detail, "code": "too_many_fields"}, status=400)
    return None


def _as_field_errors(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    return {"non_field_errors": data if isinstance(data, list) else [data]}


def _summarise(data: Any) -> str:
    """One human-readable sentence from DRF's nested error structure, e.g. 'email: Enter a valid email address.'"""
    if isinstance(data, dict):
        for field, errors in data.items():
            message = _summarise(errors)
            return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    if isinstance(data, list) and data:
        return _summarise(data[0])
    return str(data) if data else "Invalid input."


def client_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """A domain error refused before any view ran (by a middleware): JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": exc.detail, "code": exc.code, **exc.extra}, status=exc.status_code)
    from django.views.defaults import bad_request

    return bad_request(request, exc)


@csrf_exempt  # an unknown path answers 404 to any method; there is nothing to protect
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Every /api/ path no endpoint matched (config/urls.py routes them here last). With DEBUG on, Django answers
    a 404 with its HTML debug page, never handler404. A GET without its trailing slash is redirected as
    APPEND_SLASH would; another method is told the path instead (a redirect would lose its body)."""
    with_slash = f"{request.path_info}/"
    if settings.APPEND_SLASH and not request.path_info.endswith("/") and _is_endpoint(with_slash):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        detail = f"Not found. API paths end with a slash: {request.path}/"
        return JsonResponse({"detail": detail, "code": "not_found"}, status=404)
    return not_found(request)


def _is_endpoint(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Internal server error. The problem was logged.", "code": "server_error"}, status=500
        )
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
