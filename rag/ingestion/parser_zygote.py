"""The calling side of the parser zygote (`extract_child serve`): one per process, started on first use.

Each file is parsed in a process forked by the zygote; its answer comes back on a pipe made here, whose write end
travels with the request (SCM_RIGHTS), so the answer never passes through the zygote. A parse that outlives its
time is killed by pid. If the zygote itself dies, the next request starts a new one.
"""

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings


class ParseTimeout(Exception):
    """The parsing process was still at work when its time ran out; it has been killed."""


class ZygoteUnavailable(Exception):
    """The zygote could not be started or answered nothing twice in a row."""


class ParserZygote:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # a request and its pid reply are one exchange on the socket
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._owner = 0  # the pid that started it: a forked worker (django-q2) starts its own

    def run(self, request: dict, *, timeout: float) -> bytes:
        """The parsing process's whole output (b"" if it died without answering)."""
        deadline = time.monotonic() + timeout
        pid, answer = self._fork(request)
        with os.fdopen(answer, "rb", buffering=0) as pipe:
            parts: list[bytes] = []
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([pipe], [], [], remaining)[0]:
                    _kill(pid)  # no end of file yet: the process still holds the pipe, so the pid is still its own
                    raise ParseTimeout()
                data = pipe.read(1 << 16)
                if not data:
                    return b"".join(parts)
                parts.append(data)

    def cpu_seconds(self) -> float:
        """CPU time of the zygote and of the parsing processes it has reaped (0 if none is running)."""
        if self._process is None or self._owner != os.getpid():
            return 0.0
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _fork(self, request: dict) -> tuple[int, int]:
        payload = json.dumps(request).encode()
        with self._lock:
            for _attempt in range(2):
                channel = self._running()
                read, write = os.pipe()
                try:
                    socket.send_fds(channel, [payload], [write])
                    reply = channel.recv(32)
                except OSError:
                    reply = b""
                finally:
                    os.close(write)
                if reply and reply != b"0":
                    return int(reply), read
                os.close(read)
                self._stop()  # it died (or was killed): the next attempt starts a new one
        raise ZygoteUnavailable()

    def _running(self) -> socket.socket:
        if self._channel is not None and self._owner == os.getpid() and self._process and self._process.poll() is None:
            return self._channel
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
                [sys.executable, "-m", "rag.ingestion.extract_child", "serve", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                cwd=settings.BASE_DIR,
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR), "PYTHONIOENCODING": "utf-8"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self._channel, self._owner = ours, os.getpid()
        return ours

    def _stop(self) -> None:
        if self._owner == os.getpid():  # a forked worker leaves its parent's zygote alone
            if self._channel is not None:
                self._channel.close()  # the zygote reads end of file and exits
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
                self._process.wait()
        self._channel = self._process = None


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


zygote = ParserZygote()
