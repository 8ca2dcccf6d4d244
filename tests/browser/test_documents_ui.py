"""Documents in a real browser: upload by the picker and by drag and drop, watch ingestion finish, ask about
the document, and open the passage an answer cites."""

import os
import shutil

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import log_in, new_chat, screenshot, send, verified_user, wait_answer
from tests.servers import PROJECT_ROOT, DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.embeddings, pytest.mark.django_db(transaction=True)]
FACT = (
    "# The Quenby Observatory\n\n"
    "The Quenby Observatory was founded in 1873 by the astronomer Elspeth Marrow. "
    "Its telescope is named Old Lantern.\n"
)
DROP = """([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, {type: "text/markdown"}));
  const zone = document.querySelector('[data-testid="dropzone"]');
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
  }
}"""


def test_upload_wait_for_ready_ask_and_open_the_cited_passage(page: Page, daphne: DaphneServer) -> None:
    username = verified_user(daphne, "marie", max_tokens=40, temperature=0.0, use_rag=True, rag_top_k=2)
    log_in(page, daphne, username)
    page.get_by_test_id("nav-documents").click()
    expect(page.get_by_test_id("documents-view")).to_be_visible()

    page.get_by_test_id("file-input").set_input_files(
        files=[{"name": "empty.txt", "mimeType": "text/plain", "buffer": b""}]
    )
    expect(page.get_by_test_id("toast")).to_contain_text("empty.txt: The file is empty.")
    page.get_by_test_id("file-input").set_input_files(
        files=[{"name": "quenby.md", "mimeType": "text/markdown", "buffer": FACT.encode()}]
    )
    page.evaluate(DROP, ["notes.md", "# Notes\n\nNothing to see here: a second file, dropped on the page.\n"])
    items = page.get_by_test_id("document-item")
    # Both uploads answered first: a fast ingestion can list a document while its upload's row is still shown.
    uploading = page.locator('[data-testid="document-status"][data-status="uploading"]')
    expect(uploading).to_have_count(0, timeout=180_000)
    expect(items).to_have_count(2, timeout=180_000)
    for title in ("quenby", "notes"):
        item = items.filter(has_text=title)
        expect(item.get_by_test_id("document-status")).to_have_attribute("data-status", "ready", timeout=180_000)
    screenshot(page, "08-documents-ready")

    items.filter(has_text="notes").get_by_test_id("document-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(items).to_have_count(1)

    page.get_by_test_id("nav-chat").click()
    new_chat(page)
    send(page, "Who founded the Quenby Observatory?")
    wait_answer(page, timeout=180_000)
    answer = page.get_by_test_id("assistant-message")
    problem = answer.get_by_test_id("message-status")
    reason = problem.get_attribute("title") if problem.count() else ""
    expect(answer, f"the answer did not complete: {reason}").to_have_attribute("data-status", "complete")
    expect(answer.get_by_test_id("source").first).to_contain_text("quenby")
    # The README shows this one: a streamed answer grounded in an uploaded document, with its source. It is
    # copied there only when asked (UPDATE_README_SCREENSHOT=1), so a test run leaves the checkout clean.
    shot = screenshot(page, "09-answer-with-sources")
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1":
        shutil.copyfile(shot, PROJECT_ROOT / "docs" / "screenshot.png")
    # An inline [n] marker when the model cited one; the source list under the answer otherwise.
    inline = answer.get_by_test_id("citation")
    (inline.first if inline.count() else answer.get_by_test_id("source").first).click()
    dialog = page.get_by_test_id("citation-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("citation-title")).to_contain_text("quenby")
    expect(dialog.get_by_test_id("citation-snippet")).to_contain_text("Elspeth Marrow")
    screenshot(page, "10-citation-passage")
    dialog.get_by_test_id("citation-close").click()
    expect(dialog).to_be_hidden()
