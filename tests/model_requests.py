"""What the real model server received: a recording HTTP proxy in front of it (nothing is mocked, the answers
are the real server's), so a test can check the prompt and parameters a turn sent, not only what was stored."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.servers import HTTP_TIMEOUT_SECONDS, MODEL_NAME, LocalModelServer


class RecordingProxy:
    """Forwards every request to `target` and streams its answer back; keeps each JSON request body it saw."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.received: list[tuple[str, dict]] = []  # (path, JSON body) of every request with a body
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.forward(self, "GET")

            def do_POST(self) -> None:
                proxy.forward(self, "POST")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if body:
            self.received.append((handler.path, json.loads(body)))
        headers = {"Content-Type": handler.headers.get("Content-Type") or "application/json"}
        with httpx.stream(
            method, self.target + handler.path, content=body or None, headers=headers, timeout=HTTP_TIMEOUT_SECONDS
        ) as response:
            handler.send_response(response.status_code)
            handler.send_header("Content-Type", response.headers.get("content-type", "application/json"))
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for chunk in response.iter_raw():
                handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")

    def chats(self) -> list[dict]:
        """The bodies of the chat requests received, oldest first."""
        return [body for path, body in self.received if path == "/api/chat"]

    def system_prompts(self) -> list[str]:
        return [body["messages"][0]["content"] for body in self.chats()]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def recording_proxy(model_server: LocalModelServer, settings: Any) -> Iterator[RecordingProxy]:
    """The product talks to the real local model server through a recording proxy (see conftest's `chat_model`);
    `settings` is pytest-django's fixture."""
    proxy = RecordingProxy(model_server.url)
    settings.OLLAMA_HOST = proxy.url
    settings.OLLAMA_MODEL = MODEL_NAME
    settings.OLLAMA_FALLBACK_HOST = ""
    settings.OPENAI_COMPAT_URL = ""
    try:
        yield proxy
    finally:
        proxy.stop()
