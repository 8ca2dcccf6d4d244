"""`/metrics` for Prometheus. With METRICS_TOKEN set, only `Authorization: Bearer <token>` is answered (else 401);
without it, only a loopback client that sent no forwarding header (else 403): a reverse proxy on the same host
passing a stranger's request on is not the local scraper."""

import hmac
import os
from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from realtime_chat.analytics.collectors import DeploymentCollector

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _exposition() -> bytes:
    """Every process's values in multiprocess mode (else this process's), then the database's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    deployment = CollectorRegistry()
    deployment.register(DeploymentCollector())
    return generate_latest(processes) + generate_latest(deployment)


def _from_loopback(request: HttpRequest) -> bool:
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = JsonResponse(
                {"detail": "A valid metrics token is required.", "code": "not_authenticated"}, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _from_loopback(request):
        detail = "Metrics are served to loopback clients only; set METRICS_TOKEN to scrape from elsewhere."
        return JsonResponse({"detail": detail, "code": "forbidden"}, status=403)
    return HttpResponse(_exposition(), content_type=CONTENT_TYPE_LATEST)
