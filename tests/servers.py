"""Real processes the end-to-end tests start: the local model server (and, later, daphne)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_NAME = "smollm2:135m"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalModelServer:
    """`manage.py serve_local_model` in a subprocess, on a free port of its own."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "manage.py", "serve_local_model", "--host", "127.0.0.1", "--port", str(self.port)]
        env = {**os.environ, "DJANGO_ENV": "test", "LOCAL_MODEL_NAME": MODEL_NAME}
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)  # noqa: S603  (our own interpreter)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve_local_model exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/version", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"serve_local_model did not answer within {STARTUP_SECONDS}s")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-answer, as a crashed Ollama would."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM, as a supervisor stops it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)
