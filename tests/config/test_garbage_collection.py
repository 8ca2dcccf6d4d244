"""The server process freezes what start-up loaded out of the garbage collector and collects the old rarely."""

import json
import os
import subprocess
import sys

from tests.config.test_settings import ROOT

PROBE = (
    "import gc, json, asgi; "
    "print(json.dumps({'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count(), "
    "'tracked': len(gc.get_objects())}))"
)


def server_collector(**env: str) -> dict:
    result = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_loading_the_server_freezes_start_up_and_sets_the_thresholds() -> None:
    state = server_collector()
    assert state["threshold"] == [700, 10, 100]
    # Django, Channels and the apps: what a full collection no longer scans, and nearly nothing is left to scan.
    assert state["frozen"] > 50_000
    assert state["tracked"] < state["frozen"] / 10


def test_the_thresholds_are_a_setting() -> None:
    assert server_collector(SERVER_GC_THRESHOLDS="2000,20,50")["threshold"] == [2000, 20, 50]
