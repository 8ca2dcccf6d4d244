"""Prometheus metrics of every app, defined in one place below them all, and the two recorders that wrap the
server itself (HTTP requests, WebSocket connections).

Labels are bounded: a route pattern, a method, a status class, a model and a provider; never a user, a path
with ids in it, or a session. With several server processes, set PROMETHEUS_MULTIPROC_DIR (an empty directory,
wiped at start-up) before they start: each process then writes its values there and any process's /metrics
answers for all of them (prometheus_client's multiprocess mode).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from prometheus_client import Counter, Gauge, Histogram

from realtime_chat.core.middleware import SyncAndAsyncMiddleware

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
MODEL = ["model", "provider"]

HTTP_REQUESTS = Counter(
    "rc_http_requests_total", "HTTP requests answered, by route pattern, method and status class.",
    ["route", "method", "status"],
)  # fmt: skip
HTTP_SECONDS = Histogram(
    "rc_http_request_duration_seconds", "Time to the response's headers (not a stream's end).",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
SOCKETS_OPEN = Gauge("rc_websocket_connections", "WebSocket connections open now.", multiprocess_mode="livesum")
SOCKETS_OPENED = Counter("rc_websocket_connections_opened_total", "WebSocket connections accepted by the router.")

TURNS = Counter("rc_chat_turns_total", "Answers finished, by how they ended.", [*MODEL, "status"])
TOKENS = Counter("rc_chat_tokens_total", "Tokens of finished answers (prompt or completion).", [*MODEL, "kind"])
TIME_TO_FIRST_TOKEN = Histogram(
    "rc_chat_time_to_first_token_seconds", "From the question received to the answer's first token.", MODEL,
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
TURN_SECONDS = Histogram("rc_chat_turn_duration_seconds", "A whole turn.", MODEL, buckets=LATENCY_BUCKETS)
FALLBACKS = Counter("rc_chat_fallbacks_total", "Answers given by a provider after others were skipped.", MODEL)
BREAKER_TRIPS = Counter("rc_llm_circuit_breaker_trips_total", "Providers put to cool down after a failure.", MODEL)
REFUSED_TURNS = Counter("rc_chat_turns_refused_total", "Turns refused before the model was called.", ["code"])

LLM_QUEUE_WAITING = Gauge(
    "rc_llm_queue_waiting", "Answers waiting for a place at a model server (the fair queue).",
    multiprocess_mode="livesum",
)  # fmt: skip
LLM_QUEUE_SECONDS = Histogram(
    "rc_llm_queue_wait_seconds", "How long an answer waited for a place: granted, or gave up (timed out, stopped).",
    ["outcome"], buckets=(*LATENCY_BUCKETS, 120.0, 300.0),
)  # fmt: skip

INGESTIONS = Counter("rc_rag_ingestions_total", "Document ingestions finished, by outcome.", ["status"])
INGESTED_CHUNKS = Counter("rc_rag_chunks_ingested_total", "Chunks stored by ingestions.")
INGESTION_SECONDS = Histogram(
    "rc_rag_ingestion_duration_seconds", "One document's ingestion job.", buckets=(*LATENCY_BUCKETS, 120.0, 300.0)
)


def queue_entered(granted: "asyncio.Future[None]") -> None:
    """A turn waits in a model server's queue until `granted` is done: set when it gets its place, cancelled when
    it gives up."""
    LLM_QUEUE_WAITING.inc()
    started = time.perf_counter()

    def left(future: "asyncio.Future[None]") -> None:
        LLM_QUEUE_WAITING.dec()
        outcome = "gave_up" if future.cancelled() else "granted"
        LLM_QUEUE_SECONDS.labels(outcome=outcome).observe(time.perf_counter() - started)

    granted.add_done_callback(left)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return f"/{match.route}" if match is not None and match.route else "unmatched"


def _observe(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    route = _route(request)
    HTTP_REQUESTS.labels(route=route, method=request.method or "", status=f"{response.status_code // 100}xx").inc()
    HTTP_SECONDS.labels(route=route, method=request.method or "").observe(time.perf_counter() - started)


class HttpMetricsMiddleware(SyncAndAsyncMiddleware):
    """Counts and times every request by its route pattern (`/api/sessions/<int:session_id>/`), not its path."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self._async:
            return self.__acall__(request)
        started = time.perf_counter()
        response = cast(HttpResponseBase, self.get_response(request))
        _observe(request, response, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        _observe(request, response, started)
        return response


AsgiApp = Callable[..., Awaitable[Any]]


class SocketMetricsMiddleware:
    """ASGI: a WebSocket connection is open for as long as the application handles it."""

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        SOCKETS_OPENED.inc()
        SOCKETS_OPEN.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            SOCKETS_OPEN.dec()
