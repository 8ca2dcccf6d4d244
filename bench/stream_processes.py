"""Streaming load across several daphne processes sharing PostgreSQL and Redis (production's layout).

`../shared/bench/stream_load.py` measures one process started by `make run`; this starts PROCESSES daphne processes
on one PostgreSQL database and one Redis, spreads SOCKETS authenticated sockets over them round robin (one session
each), lets STREAMS of them ask at once while `fake_ollama.py` paces every answer at RATE tokens/s, and prints the
same figures: per-stream lag ((last token - first token) / the model's own duration - 1), worst gap, time to first
token, idle sockets still open, and the processes' CPU per token.

    .venv/bin/python bench/stream_processes.py [--processes 2] [--sockets 1000] [--streams 200] [--rate 50]
        [--tokens 200] [--redis redis://127.0.0.1:6379/9] [--postgres postgres://postgres@127.0.0.1:5432]
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import redis
import requests
from websockets.asyncio.client import ClientConnection, connect

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FAKE_OLLAMA = PROJECT_ROOT.parent / "shared" / "bench" / "fake_ollama.py"
LIMITS = {
    "THROTTLE_SIGNUP": "100000/min",
    "THROTTLE_LOGIN": "100000/min",
    "CHAT_CONNECTIONS_PER_MINUTE": "100000",
    "CHAT_MESSAGES_PER_MINUTE": "100000",
    "LLM_MAX_CONCURRENT_PER_PROVIDER": "0",  # the model server is fake: no queue in front of it
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def fresh_database(postgres: str) -> str:
    name = f"rc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(postgres: str, name: str) -> None:
    with psycopg.connect(postgres.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no answer at {url}")


def make_users(base: str, count: int, tokens: int) -> list[str]:
    access = []
    for _ in range(count):
        name = "u" + uuid.uuid4().hex[:10]
        requests.post(
            f"{base}/api/auth/signup/",
            json={"username": name, "email": f"{name}@example.com", "password": "Correct-Horse-9"},
            timeout=30,
        )
        login = {"username": name, "password": "Correct-Horse-9"}
        token = requests.post(f"{base}/api/auth/login/", json=login, timeout=30).json()
        headers = {"Authorization": f"Bearer {token['access']}"}
        requests.patch(
            f"{base}/api/preferences/",
            json={"model": "bench-fast:latest", "use_rag": False, "max_tokens": tokens},
            headers=headers,
            timeout=30,
        )
        access.append(token["access"])
    return access


async def stream(ws: ClientConnection, results: list[dict]) -> None:
    t0 = time.monotonic()
    await ws.send(json.dumps({"type": "message", "content": "tell me a long story", "client_id": str(uuid.uuid4())}))
    times, chars = [], 0
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
        if frame.get("type") == "token":
            times.append(time.monotonic())
            chars += len(frame.get("delta", ""))
        elif frame.get("type") in ("assistant.end", "error"):
            break
    final = len(((frame.get("message") or {}).get("content")) or "")
    results.append({"t0": t0, "times": times, "end": frame.get("type"), "chars": chars, "final": final})


async def drive(bases: list[str], tokens: list[str], sessions: list[int], args: argparse.Namespace, pids: list[int]):
    sockets: list[ClientConnection] = []
    for start in range(0, args.sockets, 50):
        batch = []
        for j in range(start, min(args.sockets, start + 50)):
            ws_base = bases[j % len(bases)].replace("http", "ws")
            url = f"{ws_base}/ws/chat/{sessions[j]}/?token={tokens[j % len(tokens)]}"
            batch.append(connect(url, max_size=None, open_timeout=60, origin=bases[j % len(bases)]))
        sockets += await asyncio.gather(*batch)
    for ws in sockets:  # `ready`, `presence`: drained before the clock starts
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 0.05)
        except TimeoutError:
            pass
    results: list[dict] = []
    cpu0, wall0 = cpu_seconds(pids), time.time()
    await asyncio.gather(*[stream(sockets[j], results) for j in range(args.streams)])
    cpu, wall = cpu_seconds(pids) - cpu0, time.time() - wall0
    alive = sum(1 for ws in sockets[args.streams :] if ws.close_code is None)
    for ws in sockets:
        await ws.close()
    return results, alive, cpu, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(results: list[dict], alive: int, cpu: float, wall: float, args: argparse.Namespace) -> dict:
    ideal = (args.tokens - 1) / args.rate
    ok = [r for r in results if r["end"] == "assistant.end" and len(r["times"]) >= 2 and r["chars"] >= r["final"] > 0]
    lags = [(r["times"][-1] - r["times"][0]) / ideal - 1 for r in ok]
    gaps = [max(b - a for a, b in zip(r["times"], r["times"][1:], strict=False)) for r in ok]
    ttft = [r["times"][0] - r["t0"] for r in ok]
    model_tokens = args.tokens * sum(1 for r in results if r["end"] == "assistant.end")
    return {
        "processes": args.processes,
        "sockets": args.sockets,
        "streams": args.streams,
        "streams_ok": len(ok),
        "idle_alive": alive,
        "idle_total": args.sockets - args.streams,
        "lag_p50": round(statistics.median(lags), 3) if lags else None,
        "lag_p99": round(pct(lags, 0.99), 3),
        "max_gap_ms_p50": round(1000 * statistics.median(gaps), 1) if gaps else None,
        "max_gap_ms_p99": round(1000 * pct(gaps, 0.99), 1),
        "ttft_ms_p50": round(1000 * statistics.median(ttft), 1) if ttft else None,
        "ttft_ms_p99": round(1000 * pct(ttft, 0.99), 1),
        "server_cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "cpu_per_token_us": round(1e6 * cpu / max(model_tokens, 1), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    redis.Redis.from_url(args.redis).flushdb()
    database = fresh_database(args.postgres)
    workdir = Path(tempfile.mkdtemp(prefix="bench-processes-"))
    fake_port = free_port()
    env = {
        **os.environ,
        **LIMITS,
        "DATABASE_URL": f"{args.postgres}/{database}",
        "REDIS_URL": args.redis,
        "OLLAMA_HOST": f"http://127.0.0.1:{fake_port}",
        "OLLAMA_MODEL": "bench-fast:latest",
        "VAR_DIR": str(workdir),
        "MEDIA_ROOT": str(workdir / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    python = str(PROJECT_ROOT / ".venv" / "bin" / "python")
    fake = subprocess.Popen([sys.executable, str(FAKE_OLLAMA), str(fake_port), str(args.tokens), str(args.rate)])  # noqa: S603
    servers: list[subprocess.Popen] = []
    try:
        migrate = [python, "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=PROJECT_ROOT, env=env, check=True)  # noqa: S603
        bases = []
        for n in range(args.processes):
            port = free_port()
            log = (workdir / f"daphne-{n}.log").open("wb")
            command = [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "asgi:application"]
            server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            servers.append(server)
            bases.append(f"http://127.0.0.1:{port}")
        for base, server in zip(bases, servers, strict=True):
            wait_for(f"{base}/api/health/live/", server)
        tokens = make_users(bases[0], min(args.streams, 100), args.tokens)
        sessions = []
        for j in range(args.sockets):
            headers = {"Authorization": f"Bearer {tokens[j % len(tokens)]}"}
            created = requests.post(f"{bases[0]}/api/sessions/", json={}, headers=headers, timeout=30)
            sessions.append(created.json()["id"])
        time.sleep(2)
        results, alive, cpu, wall = asyncio.run(drive(bases, tokens, sessions, args, [s.pid for s in servers]))
        print(json.dumps(report(results, alive, cpu, wall, args)))
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        fake.terminate()
        drop_database(args.postgres, database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
