"""Chat WebSocket benchmark: concurrent clients chatting through a real daphne, with a deterministic fast provider
and with the real local model, plus many idle sockets held open at once. Run by `make bench`; not a test.

The fast provider runs one phase per client count (1, 5 and 20 by default), one after another on the same server.
Each client holds one session on its own socket and sends its turns one after another. Per turn:

- client TTFT: from just before the client sends its `message` frame to its receipt of the first `token` frame
  (`time.perf_counter` in this process);
- provider TTFT: `usage.provider_first_token_ms` of the turn's `assistant.end` frame, the server's clock from just
  before it asks the provider chain to stream to the moment the first token reaches the turn. It includes opening
  the HTTP connection to the provider and, because the row is written when the first token arrives, inserting
  the assistant message and broadcasting `assistant.start`;
- **server overhead = client TTFT - provider TTFT**: everything else between the client's send and its first
  token: WebSocket transport both ways, frame parsing, the session lookup, saving the user message under the
  session's generation lock, reading preferences and history, building the prompt (tokens counted), broadcasting
  `message.created`, and broadcasting and sending the first `token` frame.

The fast provider answers as soon as it has read the request, so its own time to first token is ~0 and, for it,
the client TTFT is also an upper bound of everything the server adds (the provider connection and the assistant
row included). Turns/s counts answered user messages per second across all clients of a phase. Warm-up turns
(one per client) are not counted.

The fast-provider phases with clients sending back to back (`--clients`) find the server's capacity: once the
clients ask for more turns per second than one process can serve, each turn also waits for others, and the
overhead measures that queue. The paced phase (`--paced-clients`, `--think-seconds`) is people chatting at once:
each client pauses a random 0-2 s (mean 1 s) between an answer and its next message, as a reader and typist would.

    .venv/bin/python bench/chat_ws.py [--clients 1,5,20] [--turns 30] [--sockets 200] [--model-clients 2] ...
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script: the project's packages are importable

from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from tests.servers import DaphneServer, LocalModelServer, free_port  # noqa: E402

FAST_ANSWER = ["Hello", ",", " this", " is", " the", " fast", " provider", "."]
FAST_MODEL = "fast:latest"
NO_LIMIT = "1000000"
USERS_MARKER = "BENCH-USERS "
BUSY_RETRY_SECONDS = 0.05


# --- The deterministic fast provider: Ollama's /api/chat over real HTTP, in a process of its own ---------------


def serve_fast_provider(port: int) -> None:
    """Ollama's streaming chat (NDJSON) with a fixed answer written at once; the model list the server asks for."""
    from aiohttp import web

    def stamp() -> dict:
        return {"model": FAST_MODEL, "created_at": "2025-01-01T00:00:00Z"}

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for piece in FAST_ANSWER:
            line = {**stamp(), "message": {"role": "assistant", "content": piece}, "done": False}
            await response.write(json.dumps(line).encode() + b"\n")
        done = {**stamp(), "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                "total_duration": 1000, "prompt_eval_count": 10, "eval_count": len(FAST_ANSWER)}  # fmt: skip
        await response.write(json.dumps(done).encode() + b"\n")
        await response.write_eof()
        return response

    async def tags(request: web.Request) -> web.Response:
        listing = {"name": FAST_MODEL, "model": FAST_MODEL, "modified_at": "2025-01-01T00:00:00Z", "size": 1,
                   "digest": "0" * 64, "details": {"family": "fast"}}  # fmt: skip
        return web.json_response({"models": [listing]})

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": "0.12.6"})

    app = web.Application()
    app.add_routes([web.post("/api/chat", chat), web.get("/api/tags", tags), web.get("/api/version", version)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class FastProvider:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, __file__, "--serve-fast-provider", str(self.port)]
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT)  # noqa: S603  (this script)
        _wait_for_http(f"{self.url}/api/version", self.process)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _wait_for_http(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f}s")


# --- The server under test ------------------------------------------------------------------------------------


@dataclass
class Account:
    username: str
    token: str
    chat_session: int
    idle_sessions: list[int]


def server_env(workdir: Path) -> dict[str, str]:
    """Development settings without DEBUG, on a database of the benchmark's own, with the limits lifted."""
    return {
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "VAR_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        "CHAT_MESSAGES_PER_MINUTE": NO_LIMIT,
        "CHAT_CONNECTIONS_PER_MINUTE": NO_LIMIT,
        "THROTTLE_LOGIN": f"{NO_LIMIT}/min",
        "THROTTLE_SIGNUP": f"{NO_LIMIT}/min",
        "JWT_ACCESS_MINUTES": "60",
        "LLM_FIRST_TOKEN_TIMEOUT_SECONDS": "300",  # queued behind other clients' answers on the real model
        "LLM_EXTRACTIVE_FALLBACK": "false",  # a failing provider must show up as an error, not a fallback answer
    }


ACCOUNTS_SCRIPT = """
import json
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.services.chat import preferences_update, session_create
accounts = []
for n in range({users}):
    user = User.objects.create_user(username=f"bench{{n}}", email=f"bench{{n}}@example.com", password=None)
    preferences_update(user=user, max_tokens=16, use_rag=False, temperature=0.0)
    accounts.append({{
        "username": user.username,
        "token": token_pair_issue(user=user)["access"],
        "chat_session": session_create(user=user, title="bench").pk,
        "idle_sessions": [session_create(user=user, title="idle").pk for _ in range({idle_per_user})],
    }})
print("{marker}" + json.dumps(accounts))
"""


def prepare_database(env: dict[str, str], *, users: int, idle_per_user: int) -> list[Account]:
    """Migrate the benchmark's database and create its users, their sessions and access tokens."""
    full_env = {**os.environ, **env}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=PROJECT_ROOT, env=full_env, check=True)  # noqa: S603
    script = ACCOUNTS_SCRIPT.format(users=users, idle_per_user=idle_per_user, marker=USERS_MARKER)
    result = subprocess.run(  # noqa: S603  (our own manage.py)
        [*manage, "shell", "-c", script], cwd=PROJECT_ROOT, env=full_env, check=True, capture_output=True, text=True
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith(USERS_MARKER))
    return [Account(**data) for data in json.loads(line.removeprefix(USERS_MARKER))]


# --- Clients ----------------------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    turns: int = 0
    errors: list[str] = field(default_factory=list)
    client_ttft: list[float] = field(default_factory=list)
    provider_ttft: list[float] = field(default_factory=list)
    server_ttft: list[float] = field(default_factory=list)
    overhead: list[float] = field(default_factory=list)
    busy_retries: int = 0
    seconds: float = 0.0


async def open_authenticated(server: DaphneServer, account: Account, session_id: int) -> ClientConnection:
    socket = await connect(f"{server.ws_url}/ws/chat/{session_id}/", origin=server.url, open_timeout=60)
    await socket.send(json.dumps({"type": "auth", "token": account.token}))
    ready = json.loads(await asyncio.wait_for(socket.recv(), 60))
    if ready.get("type") != "ready":
        await socket.close()
        raise RuntimeError(f"expected a ready frame, got {ready}")
    return socket


async def one_turn(socket: ClientConnection, result: PhaseResult | None, turn_seconds: float) -> None:
    """Send one message and read its frames up to `assistant.end`; record the timings unless warming up.

    A `session_busy` refusal of a message sent right after the previous `assistant.end` is resent after a short
    pause and counted apart (the server releases the session's lock after sending `assistant.end`); the timings
    start at the send that was accepted.
    """
    async with asyncio.timeout(turn_seconds):
        while True:
            started = time.perf_counter()
            first_token = None
            await socket.send(json.dumps({"type": "message", "content": "Say hello.", "client_id": str(uuid.uuid4())}))
            frame = json.loads(await socket.recv())
            if frame["type"] != "error" or frame["code"] != "session_busy":
                break
            if result is not None:
                result.busy_retries += 1
            await asyncio.sleep(BUSY_RETRY_SECONDS)
        while True:
            if frame["type"] == "token" and first_token is None:
                first_token = (time.perf_counter() - started) * 1000
            elif frame["type"] == "error":
                raise RuntimeError(f"error frame: {frame['code']}: {frame['detail']}")
            elif frame["type"] == "assistant.end":
                break
            frame = json.loads(await socket.recv())
    usage, status = frame["usage"], frame["message"]["status"]
    if status != "complete" or first_token is None:
        raise RuntimeError(f"turn ended {status} with first token {first_token}")
    if result is not None:
        result.turns += 1
        result.client_ttft.append(first_token)
        result.provider_ttft.append(usage["provider_first_token_ms"])
        result.server_ttft.append(usage["first_token_ms"])
        result.overhead.append(first_token - usage["provider_first_token_ms"])


class StartLine:
    """Clients arrive once warmed up (or failed); the measured turns start together when all have arrived."""

    def __init__(self, clients: int) -> None:
        self.waiting_for = clients
        self.all_arrived = asyncio.Event()
        self.go = asyncio.Event()

    def arrive(self) -> None:
        self.waiting_for -= 1
        if self.waiting_for <= 0:
            self.all_arrived.set()


async def chatting_client(
    server: DaphneServer,
    account: Account,
    turns: int,
    result: PhaseResult,
    line: StartLine,
    turn_seconds: float,
    think_seconds: float = 0.0,
) -> None:
    """Sends `turns` messages one after another; with `think_seconds`, each after a pause drawn uniformly from
    0 to twice that (a person reading the answer and typing), so the clients' turns interleave at random."""
    pauses = random.Random(account.username)  # reproducible pacing
    arrived = False
    try:
        async with await open_authenticated(server, account, account.chat_session) as socket:
            await one_turn(socket, None, turn_seconds)  # warm-up: first queries, prompt tokenizer, provider connection
            line.arrive()
            arrived = True
            await line.go.wait()
            for _ in range(turns):
                if think_seconds:
                    await asyncio.sleep(pauses.uniform(0, 2 * think_seconds))
                await one_turn(socket, result, turn_seconds)
    except Exception as exc:  # noqa: BLE001  (a benchmark counts failures instead of stopping at the first)
        result.errors.append(f"{account.username}: {type(exc).__name__}: {exc}")
    finally:
        if not arrived:
            line.arrive()


async def chat_phase(
    server: DaphneServer, accounts: list[Account], turns: int, turn_seconds: float, think_seconds: float = 0.0
) -> PhaseResult:
    """All clients connect and warm up, then start their measured turns at the same moment."""
    result, line = PhaseResult(), StartLine(len(accounts))
    clients = [
        asyncio.create_task(chatting_client(server, a, turns, result, line, turn_seconds, think_seconds))
        for a in accounts
    ]
    await line.all_arrived.wait()
    started = time.perf_counter()
    line.go.set()
    await asyncio.gather(*clients)
    result.seconds = time.perf_counter() - started
    return result


# --- Idle sockets ------------------------------------------------------------------------------------------------


@dataclass
class HoldResult:
    opened: int = 0
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    connect_seconds: float = 0.0


async def open_idle_sockets(server: DaphneServer, accounts: list[Account], count: int) -> tuple[list, HoldResult]:
    targets = [(a, s) for a in accounts for s in a.idle_sessions][:count]
    result = HoldResult()
    started = time.perf_counter()
    opened = await asyncio.gather(*(open_authenticated(server, a, s) for a, s in targets), return_exceptions=True)
    result.connect_seconds = time.perf_counter() - started
    sockets = []
    for outcome in opened:
        if isinstance(outcome, BaseException):
            result.errors.append(f"connect: {type(outcome).__name__}: {outcome}")
        else:
            sockets.append(outcome)
    result.opened = len(sockets)
    return sockets, result


async def check_idle_sockets(sockets: list[ClientConnection], result: HoldResult) -> None:
    """Each socket held open must still answer a ping with a pong, and then close cleanly."""

    async def ping(socket: ClientConnection) -> None:
        await socket.send(json.dumps({"type": "ping"}))
        frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
        while frame["type"] == "presence":  # sent after `ready` and whenever who is online changes
            frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if frame != {"type": "pong"}:
            raise RuntimeError(f"expected pong, got {frame}")

    outcomes = await asyncio.gather(*(ping(s) for s in sockets), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.errors.append(f"ping: {type(outcome).__name__}: {outcome}")
        else:
            result.answered += 1
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


# --- Report ------------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def report_chat(label: str, clients: int, result: PhaseResult, think_seconds: float = 0.0) -> None:
    rate = result.turns / result.seconds if result.seconds else 0.0
    pace = f" (each pausing {think_seconds:g} s on average between turns)" if think_seconds else " (back to back)"
    print(f"\n{label}: {clients} clients{pace}, {result.turns} turns in {result.seconds:.1f} s = {rate:.1f} turns/s, "
          f"{len(result.errors)} errors, {result.busy_retries} session_busy retries")  # fmt: skip
    rows = [
        ("server overhead (client TTFT - provider TTFT)", result.overhead),
        ("client TTFT (send -> first token frame)", result.client_ttft),
        ("provider TTFT (usage.provider_first_token_ms)", result.provider_ttft),
        ("server TTFT (usage.first_token_ms)", result.server_ttft),
    ]
    for name, values in rows:
        print(f"  {name:<48} p50 {percentile(values, 50):8.1f} ms   p95 {percentile(values, 95):8.1f} ms")
    for error in result.errors[:5]:
        print(f"  error: {error}")


def report_hold(requested: int, result: HoldResult, seconds: float) -> None:
    print(f"\nopen sockets: {result.opened}/{requested} connected and authenticated in {result.connect_seconds:.1f} s, "
          f"held {seconds:g} s while the fast-provider clients chatted, {result.answered} answered a ping afterwards, "
          f"{len(result.errors)} errors")  # fmt: skip
    for error in result.errors[:5]:
        print(f"  error: {error}")


# --- Main ----------------------------------------------------------------------------------------------------------


async def fast_phase(server: DaphneServer, accounts: list[Account], args: argparse.Namespace) -> tuple[int, int]:
    """One phase per client count, one after another, while the idle sockets stay open through all of them."""
    sockets, hold = await open_idle_sockets(server, accounts, args.sockets)
    held_since = time.perf_counter()
    phases = [(clients, 0.0) for clients in args.clients]
    if args.paced_clients:
        phases.append((args.paced_clients, args.think_seconds))
    results = [
        (clients, think, await chat_phase(server, accounts[:clients], args.turns, 60, think))
        for clients, think in phases
    ]
    await asyncio.sleep(max(0.0, args.hold_seconds - (time.perf_counter() - held_since)))
    held = time.perf_counter() - held_since
    await check_idle_sockets(sockets, hold)
    for clients, think, result in results:
        report_chat("fast provider (deterministic, Ollama NDJSON over HTTP)", clients, result, think)
    report_hold(args.sockets, hold, round(held, 1))
    return sum(len(result.errors) for _, _, result in results), len(hold.errors) + (args.sockets - hold.answered)


def main() -> int:
    args = parse_args()
    if args.serve_fast_provider:
        serve_fast_provider(args.serve_fast_provider)
        return 0
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} at start (other processes share the machine)")
    channel_layer = "Redis" if os.environ.get("REDIS_URL") else "in-memory"
    print(f"server: one daphne process, SQLite database, {channel_layer} channel layer, DEBUG off")
    users = max(*args.clients, args.paced_clients)
    idle_per_user = -(-args.sockets // users)  # ceiling
    errors = 0
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as tmp:
        workdir = Path(tmp)
        env = server_env(workdir)
        accounts = prepare_database(env, users=users, idle_per_user=idle_per_user)
        with (workdir / "daphne.log").open("wb") as log:
            provider = FastProvider()
            server = DaphneServer(database=env["DATABASE_URL"], ollama_host=provider.url, log=log,
                                  env={**env, "OLLAMA_MODEL": FAST_MODEL})  # fmt: skip
            try:
                chat_errors, socket_errors = asyncio.run(fast_phase(server, accounts, args))
                errors += chat_errors + socket_errors
            finally:
                server.stop()
                provider.stop()
            if not args.skip_model:
                errors += run_model_phase(env, accounts[: args.model_clients], args.model_turns, log)
        if errors:
            print(f"\n{errors} errors; daphne's log:\n" + (workdir / "daphne.log").read_text(errors="replace")[-3000:])
    return 1 if errors else 0


def run_model_phase(env: dict[str, str], accounts: list[Account], turns: int, log: IO[bytes]) -> int:
    model = LocalModelServer()
    server = DaphneServer(database=env["DATABASE_URL"], ollama_host=model.url, env=env, log=log)
    try:
        result = asyncio.run(chat_phase(server, accounts, turns, turn_seconds=300))
    finally:
        server.stop()
        model.stop()
    report_chat("real local model (SmolLM2-135M via llama.cpp, max_tokens 16)", len(accounts), result)
    return len(result.errors)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=_counts, default=[1, 5, 20], help="concurrent chatting clients, fast provider: a phase each"
    )
    parser.add_argument(
        "--paced-clients", type=int, default=20, help="one more fast phase: clients pausing between turns (0: none)"
    )
    parser.add_argument("--think-seconds", type=float, default=1.0, help="mean pause between a paced client's turns")
    parser.add_argument("--turns", type=int, default=30, help="measured turns per client, fast provider")
    parser.add_argument("--sockets", type=int, default=200, help="idle sockets held open during the fast phase")
    parser.add_argument("--hold-seconds", type=float, default=10, help="how long the idle sockets stay open")
    parser.add_argument("--model-clients", type=int, default=2, help="concurrent clients on the real model")
    parser.add_argument("--model-turns", type=int, default=10, help="measured turns per client, real model")
    parser.add_argument("--skip-model", action="store_true", help="only the fast provider and the idle sockets")
    parser.add_argument("--serve-fast-provider", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.model_clients = min(args.model_clients, max(*args.clients, args.paced_clients))
    return args


def _counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",")]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts must be positive integers")
    return counts


if __name__ == "__main__":
    sys.exit(main())
