"""`make run`: daphne, a django-q2 worker and, when nothing answers at OLLAMA_HOST, the local model server.

The processes are supervised together: when one exits, the others are stopped, so the stack never runs half-up.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def ollama_answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"{host}/api/version", timeout=2) as response:  # noqa: S310  (our own setting)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def local_model_needed() -> bool:
    """Only a loopback OLLAMA_HOST with nothing listening is ours to serve; a remote host is the admin's."""
    host = urlsplit(settings.OLLAMA_HOST).hostname or ""
    return settings.LOCAL_MODEL_AUTOSTART and host in LOOPBACK_HOSTS and not ollama_answers(settings.OLLAMA_HOST)


class Command(BaseCommand):
    help = "Run the whole product: daphne, the task worker and (if needed) the local model server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        manage = [sys.executable, "manage.py"]
        commands = {"worker": [*manage, "qcluster"]}
        if local_model_needed():
            commands["model"] = [*manage, "serve_local_model"]
        commands["web"] = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "asgi:application"]
        # Links in emails point at this instance unless PUBLIC_BASE_URL says otherwise (a proxy in front).
        env = {"PUBLIC_BASE_URL": f"http://{host}:{port}", **os.environ}
        processes = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}  # noqa: S603
        self.stdout.write(f"Serving on http://{host}:{port}/  ({', '.join(processes)}); Ctrl+C stops everything.")
        signal.signal(signal.SIGTERM, lambda *_: self._stop(processes))
        try:
            code = self._wait_for_first_exit(processes)
        except KeyboardInterrupt:
            code = 0
        self._stop(processes)
        sys.exit(code)

    def _wait_for_first_exit(self, processes: dict[str, subprocess.Popen]) -> int:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with code {process.returncode}; stopping the rest.")
                    return process.returncode or 1
            time.sleep(0.5)

    @staticmethod
    def _stop(processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
