"""The chat page in a real browser: the whole journey from signing up to a streamed answer that survives a
reload, hostile text shown as text, a dropped socket coming back, and a phone-sized screen."""

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.steps import (
    PASSWORD,
    log_in,
    new_chat,
    screenshot,
    send,
    verified_user,
    wait_answer,
    wait_connected,
    wait_streaming_text,
)
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
MODEL_AND_PROVIDER = re.compile(r"^smollm2:135m · ollama$")  # a name, never the server's address
SHORT_ANSWERS = {"max_tokens": 24, "temperature": 0.0, "use_rag": False}

# Records the streaming answer's text length at every DOM change, so the test can see it grow.
RECORD_GROWTH = """() => {
  window.__lengths = [];
  new MutationObserver(() => {
    const body = document.querySelector(
      '[data-testid="assistant-message"][data-status="streaming"] [data-testid="message-body"]');
    if (body) window.__lengths.push(body.textContent.length);
  }).observe(document.getElementById("messages"), {subtree: true, childList: true, characterData: true});
}"""


def sign_up_and_verify(page: Page, server: DaphneServer, username: str) -> None:
    page.goto(server.url + "/")
    page.get_by_test_id("tab-signup").click()
    page.get_by_test_id("signup-username").fill(username)
    page.get_by_test_id("signup-email").fill(f"{username}@example.com")
    page.get_by_test_id("signup-password").fill(PASSWORD)
    page.get_by_test_id("signup-submit").click()
    expect(page.get_by_test_id("signup-done")).to_contain_text("Check your email")
    link = page.get_by_test_id("verification-link")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(server.url)}/verify-email/#token=.+"))
    screenshot(page, "01-signed-up")
    link.click()
    expect(page.get_by_test_id("verify-status")).to_have_attribute("data-state", "verified")
    assert "#token" not in page.url, "the token must leave the address bar"
    page.get_by_test_id("verify-continue").click()


def set_short_answers(page: Page) -> None:
    """Through the preferences panel: short, deterministic answers without retrieval."""
    page.get_by_test_id("preferences-open").click()
    dialog = page.get_by_test_id("preferences-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("pref-model")).to_contain_text("smollm2")
    page.get_by_test_id("pref-max-tokens").fill("24")
    page.get_by_test_id("pref-temperature").fill("0")
    page.get_by_test_id("pref-use-rag").uncheck()
    page.get_by_test_id("preferences-save").click()
    expect(dialog).to_be_hidden()


def test_sign_up_verify_log_in_chat_with_streaming_and_history_after_reload(page: Page, daphne: DaphneServer) -> None:
    sign_up_and_verify(page, daphne, "ada")
    page.get_by_test_id("login-username").fill("ada")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("chat-view")).to_be_visible()
    set_short_answers(page)

    new_chat(page)
    expect(page.get_by_test_id("session-item")).to_have_count(1)
    page.evaluate(RECORD_GROWTH)
    send(page, "Name three colours of the rainbow.")
    expect(page.get_by_test_id("user-message")).to_contain_text("Name three colours of the rainbow.")
    expect(page.get_by_test_id("stop")).to_be_visible()
    wait_answer(page)

    lengths = page.evaluate("window.__lengths")
    growing = sorted({n for n in lengths if n > 0})
    assert len(growing) >= 2, f"the answer should appear token by token, saw lengths {lengths}"
    answer = page.get_by_test_id("assistant-message")
    expect(answer).to_have_attribute("data-status", "complete")
    expect(answer.get_by_test_id("message-model")).to_have_text(MODEL_AND_PROVIDER)
    final_text = answer.get_by_test_id("message-body").inner_text()
    assert final_text.strip()
    # The first message titled the chat in the sidebar.
    expect(page.get_by_test_id("session-open")).to_contain_text("Name three colours")
    screenshot(page, "02-conversation-desktop")

    page.reload()
    wait_connected(page)
    expect(page.get_by_test_id("user-message").get_by_test_id("message-body")).to_have_text(
        "Name three colours of the rainbow."
    )
    reloaded = page.get_by_test_id("assistant-message")
    expect(reloaded.get_by_test_id("message-body")).to_have_text(final_text)
    expect(reloaded.get_by_test_id("message-model")).to_have_text(MODEL_AND_PROVIDER)
    screenshot(page, "03-after-reload")


def test_html_in_a_message_is_shown_as_text_and_never_runs(page: Page, daphne: DaphneServer) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    log_in(page, daphne, verified_user(daphne, "mallory", **SHORT_ANSWERS))
    new_chat(page)
    hostile = "<img src=x onerror=alert(1)>"
    send(page, hostile)
    wait_answer(page)
    body = page.get_by_test_id("user-message").get_by_test_id("message-body")
    expect(body).to_have_text(hostile)
    assert page.locator("#messages img").count() == 0
    page.reload()
    wait_connected(page)
    expect(page.get_by_test_id("user-message").get_by_test_id("message-body")).to_have_text(hostile)
    assert page.locator("#messages img").count() == 0
    screenshot(page, "04-xss-as-text")
    assert dialogs == [], f"a script ran: {dialogs}"


def test_dropped_socket_reconnects_and_the_chat_goes_on(page: Page, daphne: DaphneServer) -> None:
    log_in(page, daphne, verified_user(daphne, "grace", **SHORT_ANSWERS))
    new_chat(page)
    page.evaluate("""() => {
      window.__states = [];
      const indicator = document.querySelector('[data-testid="connection-state"]');
      new MutationObserver(() => window.__states.push(indicator.dataset.state))
        .observe(indicator, {attributes: true, attributeFilter: ["data-state"]});
    }""")
    daphne.restart()  # the server goes away and comes back on the same port
    wait_connected(page, timeout=90_000)
    states = page.evaluate("window.__states")
    assert "reconnecting" in states, states
    assert states[-1] == "connected", states
    send(page, "Say hello.")
    wait_answer(page)
    expect(page.get_by_test_id("assistant-message")).to_have_attribute("data-status", "complete")
    screenshot(page, "05-after-reconnect")


def test_phone_sized_screen_has_no_horizontal_overflow_and_a_visible_composer(
    phone: Page, daphne: DaphneServer
) -> None:
    log_in(phone, daphne, verified_user(daphne, "linus", **SHORT_ANSWERS))
    expect(phone.get_by_test_id("sidebar")).not_to_be_in_viewport()
    new_chat(phone)
    expect(phone.get_by_test_id("sidebar")).not_to_be_in_viewport()  # the drawer closed on opening the chat
    box = phone.get_by_test_id("composer-input")
    box.fill("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    assert box.input_value() == "first line\nsecond line"  # Shift+Enter is a new line, not a send
    expect(phone.get_by_test_id("user-message")).to_have_count(0)
    box.press("Enter")
    wait_answer(phone)
    expect(phone.get_by_test_id("user-message").get_by_test_id("message-body")).to_have_text("first line\nsecond line")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    expect(box).to_be_in_viewport(ratio=1)
    expect(phone.get_by_test_id("send")).to_be_in_viewport(ratio=1)
    screenshot(phone, "06-phone-conversation")
    phone.get_by_test_id("theme-toggle").click()  # the system theme is light here: the toggle goes dark
    expect(phone.locator("html")).to_have_attribute("data-theme", "dark")
    phone.get_by_test_id("sidebar-toggle").click()
    expect(phone.get_by_test_id("sidebar")).to_be_in_viewport(ratio=1)  # the drawer has finished sliding in
    screenshot(phone, "07-phone-drawer-dark")
    phone.reload()
    expect(phone.locator("html")).to_have_attribute("data-theme", "dark")  # the choice is kept


def test_stop_regenerate_rename_and_search_history(page: Page, daphne: DaphneServer) -> None:
    log_in(page, daphne, verified_user(daphne, "barbara", max_tokens=600, temperature=0.0, use_rag=False))
    new_chat(page)
    # Long enough to be stopped mid-answer: it runs to max_tokens, where counting to 1000 stopped after 52 tokens
    # (0.4 s on a fast CPU, before the stop could be clicked).
    send(page, "Write a very long story about a dragon and a knight.")
    wait_streaming_text(page)
    screenshot(page, "11-streaming")
    page.get_by_test_id("stop").click()
    wait_answer(page)
    stopped = page.get_by_test_id("assistant-message")
    expect(stopped).to_have_attribute("data-status", "cancelled")
    expect(stopped.get_by_test_id("message-status")).to_have_text("stopped")
    expect(page.get_by_test_id("send")).to_be_visible()

    stopped.get_by_test_id("message-regenerate").click()  # asks the last question again
    wait_streaming_text(page)
    page.get_by_test_id("stop").click()
    wait_answer(page, count=2)
    expect(page.get_by_test_id("user-message")).to_have_count(2)
    expect(page.get_by_test_id("user-message").last).to_contain_text("a dragon and a knight")

    page.get_by_test_id("session-rename").click()
    title = page.get_by_test_id("session-rename-input")
    title.fill("Dragons")
    title.press("Enter")
    expect(page.get_by_test_id("session-open")).to_have_text("Dragons")
    page.reload()
    expect(page.get_by_test_id("session-open")).to_have_text("Dragons")

    page.get_by_test_id("history-search-input").fill("dragon and a knight")
    hit = page.get_by_test_id("search-hit").first
    expect(hit).to_contain_text("Dragons")
    hit.click()
    wait_connected(page)
    page.get_by_test_id("session-delete").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("session-item")).to_have_count(0)
    expect(page.get_by_test_id("conversation-empty")).to_be_visible()
