"""Images in the chat page: paste or drop an image into the composer, preview and remove it, send it; its
thumbnail in the history (click to enlarge, still there after a reload), the answer saying the bundled text-only
model read the image's text; and another person of the chat seeing the image too."""

import base64
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import watched_context
from tests.browser.steps import PASSWORD, log_in, screenshot, verified_user, wait_answer, wait_connected
from tests.realtime_chat.attachments.images import encoded, png, text_image
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
SHORT_ANSWERS = {"max_tokens": 16, "temperature": 0.0, "use_rag": False}
SCAN = base64.b64encode(encoded(text_image(), "PNG")).decode()
PICTURE = base64.b64encode(png((200, 120))).decode()

# Runs in the page: a real File in a DataTransfer, handed to the composer as the browser hands a paste or a drop.
HAND_OVER = """([kind, data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const box = document.querySelector('[data-testid="composer-input"]');
  const event = kind === "paste"
    ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
    : new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
  box.dispatchEvent(event);
}"""

# The thumbnail was fetched with the token and decoded: a blob: image with pixels.
THUMBNAIL_SHOWN = """() => {
  const image = document.querySelector('[data-testid="attachment-thumbnail"]');
  return Boolean(image && image.src.startsWith("blob:") && image.complete && image.naturalWidth > 0);
}"""


@pytest.fixture
def second_context(browser: Browser, policy_violations: list[str]) -> Iterator[BrowserContext]:
    with watched_context(browser, policy_violations, viewport={"width": 1280, "height": 820}) as context:
        yield context


def shared_chat(server: DaphneServer, owner: str, member: str) -> int:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        login = client.post("/api/auth/login/", json={"username": owner, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access']}"}
        session = client.post("/api/sessions/", json={"title": "Scans"}, headers=headers).json()
        added = client.post(
            f"/api/sessions/{session['id']}/members/", json={"username": member, "role": "member"}, headers=headers
        )
        assert added.status_code == 201, added.text
    return session["id"]


def open_chat(page: Page, server: DaphneServer, username: str, session_id: int) -> None:
    log_in(page, server, username)
    page.goto(f"{server.url}/?s={session_id}")
    wait_connected(page)


def test_an_image_pasted_or_dropped_is_previewed_sent_shown_and_seen_by_everyone_in_the_chat(
    page: Page, second_context: BrowserContext, daphne: DaphneServer
) -> None:
    alice = verified_user(daphne, "alice", **SHORT_ANSWERS)
    bob = verified_user(daphne, "bob", **SHORT_ANSWERS)
    session_id = shared_chat(daphne, alice, bob)
    open_chat(page, daphne, alice, session_id)
    other = second_context.new_page()
    open_chat(other, daphne, bob, session_id)

    page.evaluate(HAND_OVER, ["paste", SCAN, "scan.png"])
    page.evaluate(HAND_OVER, ["drop", PICTURE, "picture.png"])
    tray = page.get_by_test_id("composer-attachment")
    expect(tray).to_have_count(2)
    expect(page.locator('[data-testid="composer-attachment"][data-attachment-id]')).to_have_count(2)  # uploaded
    tray.nth(1).get_by_test_id("remove-attachment").click()
    expect(tray).to_have_count(1)
    screenshot(page, "images-composer-preview")

    box = page.get_by_test_id("composer-input")
    box.fill("What is the invoice number?")
    box.press("Enter")
    expect(tray).to_have_count(0)
    wait_answer(page)
    mine = page.get_by_test_id("user-message").get_by_test_id("attachment-thumbnail")
    expect(mine).to_have_count(1)
    page.wait_for_function(THUMBNAIL_SHOWN)
    note = page.get_by_test_id("message-image-input")
    expect(note).to_have_attribute("data-mode", "ocr")  # the bundled model cannot see: it read the text

    theirs = other.get_by_test_id("user-message").get_by_test_id("attachment-thumbnail")
    expect(theirs).to_have_count(1)
    other.wait_for_function(THUMBNAIL_SHOWN)

    mine.first.click()
    viewer = page.get_by_test_id("attachment-viewer")
    expect(viewer).to_be_visible()
    page.wait_for_function("() => document.querySelector('[data-testid=attachment-viewer] img').naturalWidth === 900")
    screenshot(page, "images-enlarged")
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_have_count(0)

    page.reload()
    wait_connected(page)
    expect(page.get_by_test_id("user-message").get_by_test_id("attachment-thumbnail")).to_have_count(1)
    page.wait_for_function(THUMBNAIL_SHOWN)
    expect(page.get_by_test_id("message-image-input")).to_have_attribute("data-mode", "ocr")
