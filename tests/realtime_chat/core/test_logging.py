"""Production logs are one JSON object a line, each carrying the request id of the request that wrote it.

A fresh process, because logging is configured once at start-up from LOG_FORMAT (json in production).
"""

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

REQUEST = """
import logging

import django
django.setup()
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

def probe(request):
    logging.getLogger("realtime_chat.probe").warning("written while serving the request")
    return HttpResponse("ok")

urlpatterns = [path("probe/", probe)]
with override_settings(ROOT_URLCONF=__name__):
    response = Client().get("/probe/", headers={"X-Request-ID": "req-4f2a"})
    missing = Client().get("/missing/", headers={"X-Request-ID": "req-404"})
assert response["X-Request-ID"] == "req-4f2a", response.headers
assert missing.status_code == 404 and missing["X-Request-ID"] == "req-404", missing.headers
"""


@pytest.fixture(scope="module")
def log_lines() -> list[dict[str, Any]]:
    """What the requests above wrote to the console, one JSON object a line (each must parse)."""
    env = {**os.environ, "DJANGO_ENV": "test", "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings"}
    completed = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", REQUEST], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return [json.loads(line) for line in completed.stderr.splitlines() if line.strip()]


def test_production_log_lines_are_json_with_the_request_id(log_lines: list[dict[str, Any]]) -> None:
    request_lines = [line for line in log_lines if line.get("request_id") == "req-4f2a"]
    assert request_lines, log_lines
    assert request_lines == [
        {
            "time": request_lines[0]["time"],
            "level": "WARNING",
            "logger": "realtime_chat.probe",
            "request_id": "req-4f2a",
            "message": "written while serving the request",
        }
    ]
    assert request_lines[0]["time"]


def test_a_line_written_after_the_response_carries_its_request_id(log_lines: list[dict[str, Any]]) -> None:
    """Django logs a 4xx once the middleware has returned; the id comes from the request the record carries."""
    not_found = [line for line in log_lines if line["logger"] == "django.request"]
    assert [(line["request_id"], line["message"]) for line in not_found] == [("req-404", "Not Found: /missing/")]


@pytest.mark.parametrize(("level", "request_lines_logged"), [("INFO", False), ("DEBUG", True)])
def test_requests_to_the_model_server_are_logged_only_when_debugging(level: str, request_lines_logged: bool) -> None:
    """httpx writes an INFO line for every request, so one for every chat turn: below WARNING only at DEBUG."""
    script = (
        "import logging, django; django.setup(); "
        "logger = logging.getLogger('httpx'); "
        "print(logger.isEnabledFor(logging.INFO), logger.isEnabledFor(logging.WARNING))"
    )
    env = {**os.environ, "DJANGO_ENV": "test", "LOG_LEVEL": level, "DJANGO_SETTINGS_MODULE": "config.settings"}
    completed = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [str(request_lines_logged), "True"]
