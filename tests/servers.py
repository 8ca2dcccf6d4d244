"""Real processes the end-to-end tests (and the benchmarks) start: the local model server and daphne."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO
from urllib.parse import quote

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_NAME = "smollm2:135m"
STARTUP_SECONDS = 60
# Generous: the suite may share two cores with other work, and the model slows down with them.
HTTP_TIMEOUT_SECONDS = 60


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
        # One thread: with two on a busy two-core machine, llama.cpp's spinning threads slow down tenfold.
        env = {**os.environ, "DJANGO_ENV": "test", "LOCAL_MODEL_NAME": MODEL_NAME, "LOCAL_MODEL_THREADS": "1"}
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
        """SIGTERM, as a supervisor stops it; returns the exit code (or fails if it does not exit in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that opens the same database as `settings_dict` (e.g. `connection.settings_dict`) from
    another process: the SQLite test database is a file, PostgreSQL's is `test_<name>` on the same server."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    user, password = settings_dict.get("USER") or "", settings_dict.get("PASSWORD") or ""
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(settings_dict['NAME'])}"


class DaphneServer:
    """`daphne asgi:application` in a subprocess on a free port, serving the database at `database`.

    `env` is laid over this process's environment (so REDIS_URL, VAR_DIR and SECRET_KEY carry over). Output goes
    to `log` when given (a file kept open by the caller), else to this process's stdout/stderr.
    """

    def __init__(
        self,
        *,
        database: str,
        ollama_host: str,
        env: dict[str, str] | None = None,
        log: IO[bytes] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": database,
            "OLLAMA_HOST": ollama_host,
            "OLLAMA_MODEL": MODEL_NAME,
            "OLLAMA_FALLBACK_HOST": "",
            "OPENAI_COMPAT_URL": "",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.log = log
        self._start()

    def _start(self) -> None:
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "asgi:application"]
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter)
            command, cwd=PROJECT_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT if self.log else None
        )
        self._wait_until_ready()

    def restart(self) -> None:
        """Stop this daphne and start a new process on the same port, database and settings."""
        self.stop()
        self._start()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/health/live/", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"daphne did not answer on {self.url} within {STARTUP_SECONDS}s")

    def stop(self) -> int:
        """SIGTERM (daphne closes its sockets and lets running handlers finish), SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()
