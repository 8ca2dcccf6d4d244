"""The health-check registry. Each area registers its checks here; `/api/health/` runs them all.

A *required* check failing makes the service `down` (503); an optional one makes it `degraded` (200).
"""

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass

from django.db import connections

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    latency_ms: float
    message: str
    required: bool


@dataclass(frozen=True)
class HealthCheck:
    name: str
    run: Callable[[], str]  # returns a short message; raises on failure
    required: bool


_registry: dict[str, HealthCheck] = {}


def register(name: str, *, required: bool = True) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Decorator: `@health.register("database")` on a function that returns a message or raises."""

    def decorator(func: Callable[[], str]) -> Callable[[], str]:
        _registry[name] = HealthCheck(name=name, run=func, required=required)
        return func

    return decorator


def _timed(check: HealthCheck) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        message = check.run()
    finally:
        connections.close_all()  # this thread's own connections; it is thrown away after the check
    return message, round((time.perf_counter() - started) * 1000, 1)


def _collect(check: HealthCheck, future: Future, deadline: float) -> CheckResult:
    try:
        message, latency_ms = future.result(timeout=max(deadline - time.monotonic(), 0))
        ok = True
    except FutureTimeout:
        message, latency_ms, ok = f"timed out after {CHECK_TIMEOUT_SECONDS:.0f}s", CHECK_TIMEOUT_SECONDS * 1000, False
    except Exception as exc:  # noqa: BLE001  (a health check reports any failure instead of raising it)
        message, latency_ms, ok = f"{type(exc).__name__}: {exc}"[:200], 0.0, False
    return CheckResult(ok=ok, latency_ms=latency_ms, message=message, required=check.required)


def health_report() -> tuple[str, dict[str, dict]]:
    """Run every registered check in parallel, each bounded, and summarise as ok, degraded or down."""
    pool = ThreadPoolExecutor(max_workers=max(len(_registry), 1), thread_name_prefix="health")
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    futures = {name: (check, pool.submit(_timed, check)) for name, check in _registry.items()}
    results = {name: _collect(check, future, deadline) for name, (check, future) in futures.items()}
    pool.shutdown(wait=False, cancel_futures=True)  # a hung check must not hold the response
    if any(not r.ok and r.required for r in results.values()):
        status = "down"
    elif any(not r.ok for r in results.values()):
        status = "degraded"
    else:
        status = "ok"
    return status, {name: asdict(result) for name, result in sorted(results.items())}
