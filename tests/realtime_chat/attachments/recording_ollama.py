"""A small real HTTP server speaking the Ollama API's `/api/show` and `/api/chat`, recording every request body.

No vision model can run here; this stands in for one, so a test can see exactly what the product sends a model
that lists the `vision` capability (and one that does not)."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "I see a picture."


class RecordingOllama:
    def __init__(self, *, capabilities: list[str]) -> None:
        self.capabilities = capabilities
        self.requests: list[tuple[str, dict[str, Any]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                recorder.requests.append((self.path, body))
                if self.path == "/api/show":
                    shown = {"capabilities": recorder.capabilities, "details": {"family": "test"}, "model_info": {}}
                    self._json(shown)
                elif self.path == "/api/chat":
                    self._chat(body)
                else:
                    self._json({"error": "not found"}, status=404)

            def do_GET(self) -> None:
                self._json({"models": [{"model": "vision-test", "name": "vision-test"}]})

            def _chat(self, body: dict[str, Any]) -> None:
                lines = [
                    {"model": body["model"], "message": {"role": "assistant", "content": ANSWER}, "done": False},
                    {"model": body["model"], "message": {"role": "assistant", "content": ""}, "done": True,
                     "done_reason": "stop", "prompt_eval_count": 10, "eval_count": 4},
                ]  # fmt: skip
                payload = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _json(self, data: dict[str, Any], status: int = 200) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/api/chat"]


@contextmanager
def recording_ollama(*, capabilities: list[str]) -> Iterator[RecordingOllama]:
    server = RecordingOllama(capabilities=capabilities)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
