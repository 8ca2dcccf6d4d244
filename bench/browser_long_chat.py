"""Long chats in the browser: how fast Debian's Chromium opens a chat of 1,000 and 10,000 messages, and how a long
answer streams at the end of a 1,000-message chat, in one tab and in three at once. Not a test; prints figures.

A real daphne serves the page and the socket, on a database of its own seeded with the chats, and asks a fake
Ollama (its own process) for answers: a 2,000-token Markdown answer, one token every 1/--tokens-per-second s. The
page is the real one, logged in through its form; Playwright drives it, and a script added before the page's own
measures inside it:

- **open**: from the click on the chat in the sidebar (the click event's timestamp) to the frame that painted the
  chat's newest message in view (a task posted from the frame that made it visible runs once that frame is
  painted). One warm-up open of each chat, then --opens measured, each after opening an empty chat;
- **last word**: from the moment the socket frame carrying the answer's last word reached the machine to the
  frame that painted that word. An observer socket of this process on the same chat records when the frame
  arrives (the server sends it to every socket of the chat at once), on the machine's monotonic clock, which the
  page's clock is mapped to through Chrome DevTools' timestamps; when the page itself received the frame earlier
  (the observer waited for the processor), that is the arrival. How long after arrival the page received it is
  printed as well: a page busy with other work receives it late;
- before streaming, each window scrolls up to the start of the chat and back down, so the page shows all of it
  (history it fetches as the reader scrolls up included), as it would after someone read back through the chat;
- **long tasks**: the page's `longtask` entries (over 50 ms) from sending the question to the last word painted;
- **layout**: Chrome's own count and duration of layouts in that time (`Performance.getMetrics`), and the
  page's animation frames that ran a callback.

The three tabs are three windows (browser contexts), each logged in and showing the chat, all painted at once: the
worst case for a machine, where tabs of one window would leave all but the front one unpainted.

    .venv/bin/python bench/browser_long_chat.py [--sizes 1000,10000] [--opens 13] [--tokens 2000] ...
"""

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script: the project's packages are importable

import httpx  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from websockets.sync.client import connect as ws_connect  # noqa: E402

from bench.chat_ws import _wait_for_http, server_env  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.steps import PASSWORD  # noqa: E402
from tests.servers import DaphneServer, free_port  # noqa: E402

USERNAME = "reader"
LAST_WORD = "Zanzibar7q"  # ends the streamed answer; in no question and no history
SEED_MARKER = "BENCH-SEED "
STREAMED_CHAT_SIZE = 1000

# --- The fake model: a long Markdown answer, token by token -----------------------------------------------------

ANSWER_PARTS = [
    "## Reading the figures\n\nThe **median** says more than the mean when a few runs are slow, because one busy "
    "moment on a shared machine moves the mean a lot and the median hardly at all. ",
    "Look at the spread as well: the slowest run tells you what a person sometimes waits for.\n\n",
    "- Measure the same thing *before* and *after* a change, on the same machine.\n- Repeat each measurement.\n"
    "- Write down the load, the date and the processor.\n\n",
    "```python\ndef median(values):\n    ordered = sorted(values)\n    middle = len(ordered) // 2\n"
    "    return ordered[middle]\n```\n\n",
    "A table helps when there are several cases:\n\n| case | p50 | max |\n|---|---|---|\n| small | 3 | 9 |\n"
    "| large | 7 | 21 |\n\nThat is all there is to it, mostly. ",
]


def answer_tokens(count: int) -> list[str]:
    """`count` model tokens (a word with its leading space, or a piece of Markdown), the last one LAST_WORD."""
    words: list[str] = []
    part = 0
    while len(words) < count - 1:
        text = ANSWER_PARTS[part % len(ANSWER_PARTS)]
        part += 1
        for piece in text.replace("\n", " \n").split(" "):
            words.append(piece if piece.startswith("\n") or not words else " " + piece)
    return [*words[: count - 2], "\n\nThe end:", f" {LAST_WORD}."]


def serve_long_provider(port: int, tokens: int, per_second: float) -> None:
    """Ollama's streaming chat (NDJSON), one token every 1/per_second s, and the model list the server asks for."""
    import asyncio

    from aiohttp import web

    model = "long:latest"
    pieces = answer_tokens(tokens)

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        started = time.monotonic()
        for index, piece in enumerate(pieces):
            line = {"model": model, "created_at": "2025-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": piece}, "done": False}  # fmt: skip
            await response.write(json.dumps(line).encode() + b"\n")
            await asyncio.sleep(max(0.0, started + (index + 1) / per_second - time.monotonic()))
        done = {"model": model, "created_at": "2025-01-01T00:00:00Z", "done": True, "done_reason": "stop",
                "message": {"role": "assistant", "content": ""}, "eval_count": len(pieces)}  # fmt: skip
        await response.write(json.dumps(done).encode() + b"\n")
        await response.write_eof()
        return response

    async def tags(request: web.Request) -> web.Response:
        return web.json_response({"models": [{"name": model, "model": model, "size": 1, "digest": "0" * 64,
                                              "modified_at": "2025-01-01T00:00:00Z", "details": {}}]})  # fmt: skip

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": "0.12.6"})

    app = web.Application()
    app.add_routes([web.post("/api/chat", chat), web.get("/api/tags", tags), web.get("/api/version", version)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class LongProvider:
    def __init__(self, tokens: int, per_second: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, __file__, "--serve-provider", str(self.port),
                   "--tokens", str(tokens), "--tokens-per-second", str(per_second)]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT)  # noqa: S603  (this script)
        _wait_for_http(f"{self.url}/api/version", self.process)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- The seeded database ------------------------------------------------------------------------------------------

QUESTIONS = [
    "How do I read a large CSV file without loading it all into memory?",
    "What is the difference between a process and a thread?",
    "Can you explain what an index does in a database, with an example?",
    "Why does my test pass alone and fail when the whole suite runs?",
]
ANSWER_TEMPLATES = [
    "Good question. In short: **stream it**. Read one row at a time and keep only what you need.\n\n"
    "1. Open the file with a reader that yields rows.\n2. Aggregate as you go.\n3. Write results out in batches.\n\n"
    '```python\nimport csv\n\nwith open(path, newline="") as f:\n    for row in csv.DictReader(f):\n'
    '        total += float(row["amount"])\n```\n\nThis keeps memory flat whatever the file\'s size (answer {n}).',
    "A *process* has its own memory; *threads* share the memory of their process. That makes threads cheaper to "
    "start and to talk to each other, and easier to get wrong.\n\n- Processes: isolation, more overhead.\n"
    "- Threads: shared state, locks, less overhead.\n\nIn Python, the interpreter lock means threads help with "
    "waiting (network, disk) more than with computing; for computing, use processes (answer {n}).",
    "An index is a sorted copy of some columns with pointers back to the rows, like the index at the back of a "
    "book. Looking up `WHERE email = ?` then reads a few pages instead of the whole table.\n\n"
    "| query | without index | with index |\n|---|---|---|\n| by email | full scan | a few pages |\n"
    "| by id | a few pages | a few pages |\n\nIndexes cost space and slow down writes a little (answer {n}).",
    "Usually because tests share something: a database row, a file, a global, the clock. Run the failing test "
    "after each other test to find its neighbour, then make each test set up **and** clean up what it uses.\n\n"
    "> A test that depends on the order of tests is two tests pretending to be one.\n\n"
    "Random ordering (`pytest -p random_order`) finds these early (answer {n}).",
]


def seed(sizes: list[int], streamed_size: int) -> dict[str, dict[str, int]]:
    """A verified user with one chat per size, an empty chat, and two chats to stream into (one tab, three tabs).

    Runs inside `manage.py shell`: the messages get distinct, increasing times, as a real chat's have."""
    from datetime import timedelta

    from django.utils import timezone

    from realtime_chat.accounts.models import User
    from realtime_chat.chat.models import Message
    from realtime_chat.chat.services.chat import preferences_update, session_create

    user = User.objects.create_user(username=USERNAME, email=f"{USERNAME}@example.com", password=PASSWORD)
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    preferences_update(user=user, max_tokens=8192, use_rag=False, temperature=0.0)
    chats = {"empty": session_create(user=user, title="empty")}
    for size in sizes:
        chats[f"open {size}"] = session_create(user=user, title=f"open {size}")
    chats["stream"] = session_create(user=user, title="stream")
    chats["tabs"] = session_create(user=user, title="tabs")
    wanted = {**{f"open {size}": size for size in sizes}, "stream": streamed_size, "tabs": streamed_size}
    result = {}
    start = timezone.now() - timedelta(days=30)
    for name, count in wanted.items():
        messages = [
            Message(session=chats[name], role="user" if n % 2 == 0 else "assistant",
                    content=QUESTIONS[n // 2 % len(QUESTIONS)] if n % 2 == 0 else
                    ANSWER_TEMPLATES[n // 2 % len(ANSWER_TEMPLATES)].format(n=n // 2), model="long:latest")
            for n in range(count)
        ]  # fmt: skip
        Message.objects.bulk_create(messages, batch_size=500)
        for n, message in enumerate(messages):
            message.created_at = start + timedelta(seconds=n)  # bulk_create stamped them all "now"
        Message.objects.bulk_update(messages, ["created_at"], batch_size=500)
        result[name] = {"id": chats[name].pk, "newest": max(m.pk for m in messages)}
    result["empty"] = {"id": chats["empty"].pk, "newest": 0}
    return result


def prepare_database(env: dict[str, str], sizes: list[int]) -> dict[str, dict[str, int]]:
    full_env = {**os.environ, **env}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=PROJECT_ROOT, env=full_env, check=True)  # noqa: S603
    script = (f"import json; from bench.browser_long_chat import seed; "
              f"print({SEED_MARKER!r} + json.dumps(seed({sizes!r}, {STREAMED_CHAT_SIZE})))")  # fmt: skip
    result = subprocess.run(  # noqa: S603  (our own manage.py)
        [*manage, "shell", "-c", script], cwd=PROJECT_ROOT, env=full_env, check=True, capture_output=True, text=True
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith(SEED_MARKER))
    return json.loads(line.removeprefix(SEED_MARKER))


# --- Measuring inside the page ------------------------------------------------------------------------------------

# Added to every page before its own scripts. A DOM change made inside a requestAnimationFrame callback is painted
# in that frame, and a task posted from there runs once the frame is done; any other change is painted in the next
# frame, so the measurement waits for that frame first.
PAGE_PROBE = """(() => {
  const bench = window.__bench = { longTasks: [], open: null, word: null, frames: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: "longtask", buffered: true });

  const nativeFrame = window.requestAnimationFrame.bind(window);
  const channel = new MessageChannel();
  const posted = [];
  channel.port1.onmessage = () => posted.shift()();
  const post = (callback) => { posted.push(callback); channel.port2.postMessage(0); };
  let inFrame = false;
  window.requestAnimationFrame = (callback) => nativeFrame((time) => {
    bench.frames += 1;
    inFrame = true;
    post(() => { inFrame = false; });
    callback(time);
  });
  const afterPaint = (callback) => (inFrame ? post(callback) : nativeFrame(() => post(callback)));

  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const word = bench.word;
        if (word && word.receivedAt === null && String(event.data).includes(word.marker)) {
          word.receivedAt = performance.now();
        }
      });
    }
  };

  document.addEventListener("click", (event) => {
    if (bench.open && bench.open.clickAt === null) bench.open.clickAt = event.timeStamp;
  }, true);

  const inView = (element, root) => {
    const box = element.getBoundingClientRect();
    const view = root.getBoundingClientRect();
    return box.height > 0 && box.bottom > view.top && box.top < view.bottom;
  };

  /** Records when the message `newestId` is first painted in view, and when the socket says connected. */
  bench.watchOpen = (newestId) => {
    const open = bench.open = { clickAt: null, paintedAt: null, connectedAt: null, lastShown: null };
    const root = document.getElementById("messages");
    const check = () => {
      const element = root.querySelector(`[data-message-id="${newestId}"]`);
      if (open.paintedAt === null && element && inView(element, root)) {
        open.paintedAt = performance.now();
        messages.disconnect();
      }
    };
    const messages = new MutationObserver(() => afterPaint(check));
    messages.observe(root, { childList: true, subtree: true });
    root.addEventListener("scroll", () => afterPaint(check));
    const indicator = document.querySelector('[data-testid="connection-state"]');
    let left = false;
    const state = new MutationObserver(() => {
      if (indicator.dataset.state !== "connected") left = true;
      else if (left && open.connectedAt === null) {
        open.connectedAt = performance.now();
        const ids = [...root.querySelectorAll("[data-message-id]")].map((e) => Number(e.dataset.messageId));
        open.lastShown = ids.length ? Math.max(...ids) : null;
        state.disconnect();
      }
    });
    state.observe(indicator, { attributes: true, attributeFilter: ["data-state"] });
  };

  /** Records when the answer's last word is first painted (and when the page received its frame). */
  bench.watchWord = (marker) => {
    bench.frames = 0;
    const word = bench.word = { marker, receivedAt: null, seenAt: null, paintedAt: null, startedAt: performance.now() };
    const root = document.getElementById("messages");
    const shows = (article) => {
      const body = article.querySelector('[data-testid="message-body"]');
      const last = body && body.lastElementChild;
      return Boolean(last) && last.textContent.includes(marker);
    };
    const check = (article) => {
      if (word.seenAt !== null || !shows(article)) return;
      word.seenAt = performance.now();
      inside.disconnect();
      outside.disconnect();
      afterPaint(() => { word.paintedAt = performance.now(); word.frames = bench.frames; });
    };
    let current = null;
    const inside = new MutationObserver(() => check(current));
    const outside = new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.nodeType !== 1 || node.dataset.testid !== "assistant-message") continue;
          current = node;
          inside.disconnect();
          inside.observe(node, { childList: true, subtree: true, characterData: true });
          check(node);
        }
      }
    });
    outside.observe(root, { childList: true });
  };
})();"""


@dataclass
class Tab:
    page: Page
    cdp: CDPSession
    offset_ms: float = 0.0  # the machine's monotonic clock in ms minus the page's performance.now()


def open_tab(context: BrowserContext, url: str) -> Tab:
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
    page.goto(url)
    return Tab(page=page, cdp=cdp)


class Observer:
    """A socket of this process on the chat, in a thread: when did the frame with the last word reach the machine."""

    def __init__(self, server: DaphneServer, session_id: int) -> None:
        login = httpx.post(f"{server.url}/api/auth/login/", json={"username": USERNAME, "password": PASSWORD})
        login.raise_for_status()
        self.arrivals: list[float] = []  # time.monotonic() of each frame with LAST_WORD
        self.ready = threading.Event()
        self.stopping = threading.Event()
        url = f"{server.ws_url}/ws/chat/{session_id}/"
        self.thread = threading.Thread(target=self._read, args=(url, server.url, login.json()["access"]), daemon=True)
        self.thread.start()
        if not self.ready.wait(timeout=60):
            raise RuntimeError("the observer socket was not accepted")

    def _read(self, url: str, origin: str, token: str) -> None:
        with ws_connect(url, origin=origin) as socket:
            socket.send(json.dumps({"type": "auth", "token": token}))
            if json.loads(socket.recv(timeout=60))["type"] == "ready":
                self.ready.set()
            while not self.stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    if LAST_WORD in str(socket.recv(timeout=0.5)):
                        self.arrivals.append(time.monotonic())

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)


def metrics(tab: Tab) -> dict[str, float]:
    return {m["name"]: m["value"] for m in tab.cdp.send("Performance.getMetrics")["metrics"]}


def calibrate(tab: Tab) -> None:
    """The page's clock against the machine's: performance.now() read between two DevTools timestamps."""
    samples = []
    for _ in range(9):
        before = metrics(tab)["Timestamp"]
        now = tab.page.evaluate("performance.now()")
        after = metrics(tab)["Timestamp"]
        samples.append((after - before, (before + after) / 2 * 1000 - now))
    tab.offset_ms = min(samples)[1]  # from the narrowest bracket


def log_in(tab: Tab) -> None:
    page = tab.page
    page.get_by_test_id("login-username").fill(USERNAME)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("chat-view").wait_for()


def wait_connected(page: Page) -> None:
    page.locator('[data-testid="connection-state"][data-state="connected"]').wait_for(timeout=120_000)


def open_chat(page: Page, title: str) -> None:
    page.get_by_test_id("session-open").filter(has_text=re.compile(f"^{re.escape(title)}$")).click()


# --- Phases -------------------------------------------------------------------------------------------------------


@dataclass
class OpenResult:
    times: list[float] = field(default_factory=list)  # click -> newest message painted, ms
    never: int = 0
    loaded: list[float] = field(default_factory=list)  # click -> socket connected (history loaded), ms
    last_shown: int | None = None
    long_tasks: list[float] = field(default_factory=list)  # the longest task of each open, ms


def measure_open(tab: Tab, chat: dict[str, int], title: str, result: OpenResult | None) -> None:
    page = tab.page
    open_chat(page, "empty")
    wait_connected(page)
    page.evaluate(f"window.__bench.longTasks = []; window.__bench.watchOpen({chat['newest']})")
    open_chat(page, title)
    page.wait_for_function("window.__bench.open.connectedAt !== null", timeout=120_000)
    with contextlib.suppress(PlaywrightTimeout):  # the newest message never shows: counted below
        page.wait_for_function("window.__bench.open.paintedAt !== null", timeout=5_000)
    open_ = page.evaluate("window.__bench.open")
    tasks = page.evaluate("window.__bench.longTasks.map((t) => t.duration)")
    if result is None:
        return
    result.loaded.append(open_["connectedAt"] - open_["clickAt"])
    result.long_tasks.append(max(tasks, default=0.0))
    if open_["paintedAt"] is None:
        result.never += 1
        result.last_shown = open_["lastShown"]
    else:
        result.times.append(open_["paintedAt"] - open_["clickAt"])


@dataclass
class StreamResult:
    last_word: list[float] = field(default_factory=list)  # frame reached the machine -> painted, ms
    received: list[float] = field(default_factory=list)  # frame reached the machine -> the page's receipt, ms
    long_tasks: list[list[float]] = field(default_factory=list)
    layout_ms: list[float] = field(default_factory=list)
    layouts: list[int] = field(default_factory=list)
    style_ms: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # the page's animation-frame callbacks


def start_watching(tab: Tab) -> dict[str, float]:
    calibrate(tab)
    tab.page.evaluate(f"window.__bench.longTasks = []; window.__bench.watchWord({LAST_WORD!r})")
    return metrics(tab)


def collect(tab: Tab, before: dict[str, float], arrived_at: float, result: StreamResult) -> None:
    """`arrived_at`: time.monotonic() when the frame with the last word reached the machine."""
    page = tab.page
    page.wait_for_function("window.__bench.word.paintedAt !== null", timeout=300_000)
    after = metrics(tab)
    word = page.evaluate("window.__bench.word")
    tasks = page.evaluate(
        "window.__bench.longTasks.filter((t) => t.start >= window.__bench.word.startedAt).map((t) => t.duration)"
    )
    # The observer can be scheduled later than the page on a busy machine: the frame was there by either's receipt.
    arrived = min(arrived_at * 1000 - tab.offset_ms, word["receivedAt"])
    result.last_word.append(word["paintedAt"] - arrived)
    result.received.append(word["receivedAt"] - arrived)
    result.long_tasks.append(tasks)
    result.layout_ms.append((after["LayoutDuration"] - before["LayoutDuration"]) * 1000)
    result.layouts.append(int(after["LayoutCount"] - before["LayoutCount"]))
    result.style_ms.append((after["RecalcStyleDuration"] - before["RecalcStyleDuration"]) * 1000)
    result.seconds.append((word["paintedAt"] - word["startedAt"]) / 1000)
    result.frames.append(word["frames"])


def show_whole_chat(page: Page) -> int:
    """Scrolls to the top until no older message comes, then back to the end: the reader went through it all.
    Returns how many messages the page then shows."""
    count, unchanged = -1, 0
    while unchanged < 3:
        page.evaluate("document.getElementById('messages').scrollTop = 0")
        page.wait_for_timeout(250)
        now = page.locator("#messages [data-message-id]").count()
        count, unchanged = now, (unchanged + 1 if now == count else 0)
    page.evaluate("const list = document.getElementById('messages'); list.scrollTop = list.scrollHeight")
    page.wait_for_timeout(500)
    return count


def send_question(page: Page, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def wait_finished(page: Page) -> None:
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="assistant-message"][data-status="streaming"]\')', timeout=300_000
    )
    page.get_by_test_id("send").wait_for(state="visible")


def measure_streams(tabs: list[Tab], observer: Observer, runs: int) -> list[StreamResult]:
    results = [StreamResult() for _ in tabs]
    for run in range(runs):
        befores = [start_watching(tab) for tab in tabs]
        observer.arrivals.clear()
        send_question(tabs[0].page, f"Tell me about reading benchmark figures, please ({run}).")
        for tab, before, result in zip(tabs, befores, results, strict=True):
            tab.page.wait_for_function("window.__bench.word.paintedAt !== null", timeout=300_000)
            collect(tab, before, observer.arrivals[0], result)
        for tab in tabs:
            wait_finished(tab.page)
    return results


# --- Report -------------------------------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"min {min(values):.0f} / median {statistics.median(values):.0f} / max {max(values):.0f} ms"


def report_open(size: int, result: OpenResult) -> None:
    print(f"\nopen a chat of {size:,} messages ({len(result.loaded)} opens): click -> newest message painted")
    if result.times:
        over = sum(1 for t in result.times if t > 300)
        print(f"  {spread(result.times)}  ({over} over 300 ms)")
    if result.never:
        print(f"  newest message never shown in {result.never} opens (newest shown: id {result.last_shown})")
    print(f"  click -> history loaded and socket connected: {spread(result.loaded)}")
    print(f"  longest task of each open: {spread(result.long_tasks)}")


def report_stream(label: str, results: list[StreamResult]) -> None:
    print(f"\n{label}")
    for number, result in enumerate(results, start=1):
        tasks = [t for run in result.long_tasks for t in run]
        per_run = ", ".join(str(len(run)) for run in result.long_tasks)
        answers = len(result.layouts)
        print(f"  tab {number}: last word painted after its frame arrived: {spread(result.last_word)}"
              f" (the page received the frame after {spread(result.received)})")  # fmt: skip
        print(f"         long tasks per answer: {per_run}; longest {max(tasks, default=0):.0f} ms;"
              f" {sum(result.frames) / answers:.0f} animation frames and {sum(result.layouts) / answers:.0f} layouts"
              f" per answer, {sum(result.layout_ms) / max(1, sum(result.layouts)):.2f} ms a layout,"
              f" {sum(result.style_ms) / answers:.0f} ms of style per answer;"
              f" answer streamed in {statistics.mean(result.seconds):.1f} s")  # fmt: skip


# --- Main ---------------------------------------------------------------------------------------------------------


def new_window(browser: Browser) -> BrowserContext:
    """A context of its own: a window that is always visible and painted. (Pages of one context are tabs of one
    window, and Chromium paints the tabs behind the front one only now and then, which is Chromium's business.)"""
    # The probe waits with page functions, which the page's own Content-Security-Policy (no eval) would refuse.
    context = browser.new_context(viewport={"width": 1280, "height": 820}, bypass_csp=True)
    context.add_init_script(PAGE_PROBE)
    return context


def run(server: DaphneServer, chats: dict[str, dict[str, int]], args: argparse.Namespace) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = open_tab(new_window(browser), server.url + "/")
        log_in(tab)
        for size in args.sizes:
            result = OpenResult()
            measure_open(tab, chats[f"open {size}"], f"open {size}", None)  # warm-up
            for _ in range(args.opens):
                measure_open(tab, chats[f"open {size}"], f"open {size}", result)
            report_open(size, result)
        open_chat(tab.page, "stream")
        wait_connected(tab.page)
        shown = show_whole_chat(tab.page)
        observer = Observer(server, chats["stream"]["id"])
        results = measure_streams([tab], observer, args.streams)
        observer.close()
        report_stream(f"stream {args.tokens} tokens at the end of a {STREAMED_CHAT_SIZE:,}-message chat, one tab, "
                      f"{shown:,} messages shown ({args.streams} answers)", results)  # fmt: skip
        tab.page.close()
        url = f"{server.url}/?s={chats['tabs']['id']}"  # opens the chat once logged in
        tabs = [open_tab(new_window(browser), url) for _ in range(args.tabs)]
        for each in tabs:
            log_in(each)
        for each in tabs:
            wait_connected(each.page)
            shown = show_whole_chat(each.page)
        observer = Observer(server, chats["tabs"]["id"])
        results = measure_streams(tabs, observer, args.streams)
        observer.close()
        report_stream(f"the same with {args.tabs} windows open on the chat, {shown:,} messages shown in each "
                      f"({args.streams} answers)", results)  # fmt: skip
        browser.close()


def main() -> int:
    args = parse_args()
    if args.serve_provider:
        serve_long_provider(args.serve_provider, args.tokens, args.tokens_per_second)
        return 0
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")  # fmt: skip
    print(f"machine: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print(f"browser: {CHROMIUM} (headless), 1280x820; answers of {args.tokens} tokens at {args.tokens_per_second:g}/s")
    with tempfile.TemporaryDirectory(prefix="browser-bench-") as tmp:
        workdir = Path(tmp)
        env = server_env(workdir)
        chats = prepare_database(env, args.sizes)
        provider = LongProvider(args.tokens, args.tokens_per_second)
        with (workdir / "daphne.log").open("wb") as log:
            server = DaphneServer(database=env["DATABASE_URL"], ollama_host=provider.url, log=log,
                                  env={**env, "OLLAMA_MODEL": "long:latest"})  # fmt: skip
            try:
                run(server, chats, args)
            finally:
                server.stop()
                provider.stop()
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda text: [int(n) for n in text.split(",")], default=[1000, 10000],
                        help="messages in each chat to open")  # fmt: skip
    parser.add_argument("--opens", type=int, default=13, help="measured opens of each chat")
    parser.add_argument("--tokens", type=int, default=2000, help="tokens in each streamed answer")
    parser.add_argument("--tokens-per-second", type=float, default=200, help="how fast the fake model answers")
    parser.add_argument("--streams", type=int, default=3, help="answers streamed in each of the stream phases")
    parser.add_argument("--tabs", type=int, default=3, help="windows open on the same chat in the last phase")
    parser.add_argument("--serve-provider", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
