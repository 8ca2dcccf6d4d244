"""The conversation view's modules in Chromium, without a server: the page's own files are served to a blank page,
and each test imports them and drives them with frames as the socket would deliver them."""

import mimetypes
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.browser.conftest import CHROMIUM
from tests.servers import PROJECT_ROOT

pytestmark = [pytest.mark.browser]
STATIC = PROJECT_ROOT / "frontend" / "static"
ORIGIN = "http://frontend.test"
BLANK = f"""<!doctype html><html><head><link rel="stylesheet" href="{ORIGIN}/static/frontend/app.css"></head>
<body><main class="conversation" style="height: 400px; display: flex"><div class="messages" id="messages"></div>
</main></body></html>"""


@pytest.fixture
def view(browser: Browser) -> Iterator[Page]:
    """A blank page at ORIGIN with a 400 px `.messages` box; ORIGIN/static/... answers with the project's files."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs it)")
    context = browser.new_context(viewport={"width": 900, "height": 600})
    page = context.new_page()

    def serve(route: Route) -> None:
        path = urlparse(route.request.url).path
        if path == "/":
            route.fulfill(body=BLANK, content_type="text/html")
            return
        file = (STATIC / path.removeprefix("/static/")).resolve()
        if not path.startswith("/static/") or not file.is_relative_to(STATIC) or not file.is_file():
            route.fulfill(status=404)
            return
        content_type = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0]
        route.fulfill(body=file.read_bytes(), content_type=content_type)

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page
    context.close()


def test_token_frames_apply_by_offset_in_code_points(view: Page) -> None:
    results = view.evaluate("""async () => {
      const { applyToken } = await import("/static/frontend/chat_view.js");
      const answer = (text) => ({ text, length: Array.from(text).length });
      const show = (next) => next && { text: next.text, length: next.length };
      const start = answer("Hello");
      return {
        next: show(applyToken(start, { offset: 5, delta: " world" })),
        seen: applyToken(start, { offset: 1, delta: "ell" }) === start,
        overlap: show(applyToken(start, { offset: 3, delta: "lo there" })),
        gap: applyToken(start, { offset: 6, delta: "x" }),
        noOffset: show(applyToken(start, { delta: "!" })),
        astral: show(applyToken(answer("a😀b"), { offset: 2, delta: "b😀c" })),
        astralSeen: applyToken(answer("😀😀"), { offset: 1, delta: "😀" }) !== null,
        astralNext: show(applyToken(answer("😀"), { offset: 1, delta: "😀x" })),
      };
    }""")
    assert results["next"] == {"text": "Hello world", "length": 11}
    assert results["seen"] is True  # text the answer already has changes nothing
    assert results["overlap"] == {"text": "Hello there", "length": 11}  # only the unseen end is added
    assert results["gap"] is None  # text missing between: not appended
    assert results["noOffset"] == {"text": "Hello!", "length": 6}
    # Offsets count code points: "😀" is one (two UTF-16 units).
    assert results["astral"] == {"text": "a😀b😀c", "length": 5}
    assert results["astralSeen"] is True
    assert results["astralNext"] == {"text": "😀😀x", "length": 3}


MARKDOWN_SAMPLES = [
    "# Title\n\nA paragraph with **bold** and `code`.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\nThe end.",
    "Before\n\n```python\ndef f():\n\n    return 1  # a blank line inside the fence\n```\n\nAfter the fence.\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n> more\n\n---\n\n~~~\nunclosed tilde fence\n\nstill code",
    "Windows\r\n\r\nline ends\r\n\r\n```\r\ncode\r\n```\r\n\r\nand a lone\rcarriage\r\rreturn, a NUL \u0000 here",
    "````md\n```\nnot the end\n```\n````\n\ntext [1] and [link](https://example.com)\n\n \n\nspaces above",
]


def test_a_streamed_answer_renders_exactly_as_its_whole_text(view: Page) -> None:
    mismatches = view.evaluate(
        """async (samples) => {
          const { StreamedBody } = await import("/static/frontend/chat_view.js");
          const { renderMarkdown } = await import("/static/frontend/markdown.js");
          const mismatches = [];
          for (const sample of samples) {
            for (const step of [1, 3, 7]) {
              const body = document.createElement("div");
              const streamed = new StreamedBody(body);
              for (let end = 0; end <= sample.length + step; end += step) {
                const text = sample.slice(0, end);
                streamed.update(text);
                if (body.innerHTML !== renderMarkdown(text)) mismatches.push({ text, step });
              }
            }
          }
          return mismatches.slice(0, 3);
        }""",
        MARKDOWN_SAMPLES,
    )
    assert mismatches == []


# Drives a ChatView on the page's #messages; `window.view` and `window.frame()` (one animation frame) for tests.
CHAT_VIEW = """async () => {
  const { ChatView } = await import("/static/frontend/chat_view.js");
  window.asked = 0;
  window.view = new ChatView({ root: document.getElementById("messages"), onCitation() {}, onRegenerate() {},
                               onNeedOlder: () => { window.asked += 1; }, toast() {} });
  window.frame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}"""
STALE = {"id": 7, "role": "assistant", "content": "Hel", "status": "streaming", "model": "m", "provider": "p"}
QUESTION = {"id": 6, "role": "user", "content": "Say hello world", "status": "complete"}


def answer_texts(view: Page) -> list[str]:
    return view.locator('[data-testid="assistant-message"] [data-testid="message-body"]').all_inner_texts()


def test_a_snapshot_replaces_the_stale_copy_and_tokens_continue_it_in_place(view: Page) -> None:
    view.evaluate(CHAT_VIEW)
    view.evaluate("(history) => window.view.setHistory(history)", [QUESTION, STALE])
    view.evaluate("""async () => {
      view.assistantSnapshot({ type: "assistant.snapshot", message_id: 7, content: "Hello wor", offset: 9,
                               model: "m", provider: "p" });
      view.token({ type: "token", message_id: 7, delta: "lo wor", offset: 3 });  // already shown
      view.token({ type: "token", message_id: 7, delta: "orld", offset: 7 });  // overlaps: "ld" is new
      await frame();
    }""")
    assert answer_texts(view) == ["Hello world"]
    assert view.locator('[data-message-id="7"]').get_attribute("data-status") == "streaming"
    assert view.locator("[data-message-id]").count() == 2  # the stale copy was replaced, not repeated

    view.evaluate("""async () => {
      view.token({ type: "token", message_id: 7, delta: "!!", offset: 40 });  // a gap: text 11-40 never came
      view.token({ type: "token", message_id: 7, delta: "?", offset: 42 });
      await frame();
    }""")
    assert answer_texts(view) == ["Hello world"]  # nothing shown out of place
    view.evaluate("""() => view.assistantEnd({ type: "assistant.end", message: { id: 7, role: "assistant",
      content: "Hello world, and the text that was missing!!?", status: "complete", model: "m", provider: "p" } })""")
    assert answer_texts(view) == ["Hello world, and the text that was missing!!?"]
    assert view.locator('[data-message-id="7"]').get_attribute("data-status") == "complete"


def test_the_end_of_an_answer_keeps_the_streamed_body_and_no_frame_renders_it_again(view: Page) -> None:
    view.evaluate(CHAT_VIEW)
    mutations = view.evaluate("""async () => {
      view.setHistory([]);
      view.assistantStart({ type: "assistant.start", message_id: 9, model: "m", provider: "p" });
      view.token({ type: "token", message_id: 9, delta: "Para one.\\n\\nPara", offset: 0 });
      await frame();
      const body = document.querySelector('[data-message-id="9"] [data-testid="message-body"]');
      const first = body.firstElementChild;
      view.token({ type: "token", message_id: 9, delta: " two.", offset: 15 });  // its frame is still queued at the end
      view.assistantEnd({ type: "assistant.end", message: { id: 9, role: "assistant", status: "complete",
                         content: "Para one.\\n\\nPara two.", model: "m", provider: "p" } });
      const ended = document.querySelector('[data-message-id="9"] [data-testid="message-body"]');
      const seen = [];
      new MutationObserver((records) => seen.push(records.length)).observe(ended,
        { childList: true, subtree: true, characterData: true });
      await frame();
      return { sameBody: ended === body, sameFirstBlock: ended.firstElementChild === first, later: seen.length };
    }""")
    assert mutations == {"sameBody": True, "sameFirstBlock": True, "later": 0}
    assert answer_texts(view) == ["Para one.\n\nPara two."]


def history(first: int, count: int) -> list[dict]:
    return [
        {"id": n, "role": "user" if n % 2 else "assistant", "content": f"message {n}\n\nwith a second paragraph"}
        for n in range(first, first + count)
    ]


def test_older_history_goes_on_top_and_the_reader_stays_where_they_were(view: Page) -> None:
    view.evaluate(CHAT_VIEW)
    view.evaluate("(page) => view.setHistory(page, { hasOlder: true })", history(101, 50))
    assert view.locator('[data-message-id="150"]').is_visible()
    assert view.evaluate("window.asked") == 0  # at the end of a full page: nothing asked yet
    view.evaluate("async () => { view.root.scrollTop = 0; await frame(); }")
    assert view.evaluate("window.asked") == 1
    assert view.get_by_test_id("history-edge").get_attribute("data-state") == "loading"
    top_before = view.evaluate("document.querySelector('[data-message-id=\"101\"]').getBoundingClientRect().top")
    view.evaluate("(page) => view.prependHistory(page, { hasOlder: false })", history(51, 50))
    top_after = view.evaluate("document.querySelector('[data-message-id=\"101\"]').getBoundingClientRect().top")
    assert abs(top_after - top_before) < 1  # the message the reader was looking at did not move
    ids = view.evaluate("[...document.querySelectorAll('[data-message-id]')].map((e) => Number(e.dataset.messageId))")
    assert ids == list(range(51, 151))
    assert view.get_by_test_id("history-edge").get_attribute("data-state") == "none"
    view.evaluate("async () => { view.root.scrollTop = 0; await frame(); }")
    assert view.evaluate("window.asked") == 1  # the beginning of the chat: nothing more to ask for
    regenerate = view.locator('[data-testid="message-regenerate"]:visible')
    assert regenerate.count() == 1
    assert view.locator('[data-message-id="150"] [data-testid="message-regenerate"]').is_visible()


def test_the_last_question_and_answer_are_found_in_an_older_page_too(view: Page) -> None:
    view.evaluate(CHAT_VIEW)
    view.evaluate("(page) => view.setHistory(page, { hasOlder: true })", [])
    view.evaluate("(page) => view.prependHistory(page, { hasOlder: false })", history(1, 4))
    assert view.evaluate("view.lastQuestion()") == "message 3\n\nwith a second paragraph"
    assert view.locator('[data-message-id="4"] [data-testid="message-regenerate"]').is_visible()
    assert view.locator('[data-testid="message-regenerate"]:visible').count() == 1


def test_pages_of_history_off_screen_are_skipped_at_the_size_they_were_drawn(view: Page) -> None:
    view.evaluate(CHAT_VIEW)
    view.evaluate("(page) => view.setHistory(page, { hasOlder: true })", history(101, 50))
    view.evaluate("async () => { view.root.scrollTop = 0; await frame(); }")
    view.evaluate("(page) => view.prependHistory(page, { hasOlder: false })", history(51, 50))
    height = view.evaluate("view.root.scrollHeight")
    state = view.evaluate("""async () => {
      await frame();
      await frame();
      view.root.scrollTop = view.root.scrollHeight;
      await frame();
      const oldest = document.querySelector('[data-message-id="51"]');
      return { drawn: document.querySelectorAll(".history-page.drawn").length, height: view.root.scrollHeight,
               skipped: !oldest.checkVisibility({ contentVisibilityAuto: true }) };
    }""")
    assert state == {"drawn": 2, "height": height, "skipped": True}  # skipped, and nothing moved
