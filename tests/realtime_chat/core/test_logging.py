"""Production logs are one JSON object a line, each carrying the request id of the request that wrote it.

A fresh process, because logging is configured once at start-up from LOG_FORMAT (json in production).
"""

import json
import os
import subprocess
import sys

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
assert response["X-Request-ID"] == "req-4f2a", response.headers
"""


def test_production_log_lines_are_json_with_the_request_id() -> None:
    env = {**os.environ, "DJANGO_ENV": "test", "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings"}
    completed = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", REQUEST], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr

    lines = [json.loads(line) for line in completed.stderr.splitlines() if line.strip()]  # each line must parse
    request_lines = [line for line in lines if line.get("request_id") == "req-4f2a"]
    assert request_lines, completed.stderr
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
