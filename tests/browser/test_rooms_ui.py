"""Shared chats in a real browser: two people (alice and bob, each in a browser context of their own) in one chat,
who see each other's messages with their authors, who is online and who is typing; a viewer who cannot write; a
removed member let out of the chat; an answer that goes on in place across a reload and in a second tab; and a
first message that starts a chat of its own."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, WebSocketRoute, expect

from tests.browser.conftest import watched_context
from tests.browser.steps import (
    PASSWORD,
    log_in,
    new_chat,
    screenshot,
    send,
    verified_user,
    wait_answer,
    wait_connected,
)
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
SHORT_ANSWERS = {"max_tokens": 16, "temperature": 0.0, "use_rag": False}
DESKTOP = {"viewport": {"width": 1280, "height": 820}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
# How much wider than its box each element (by id) is: what would be cut off or scroll sideways on a phone.
OVERFLOW = "(ids) => ids.map((id) => { const e = document.getElementById(id); return e.scrollWidth - e.clientWidth; })"


@pytest.fixture
def second_context(browser: Browser, policy_violations: list[str]) -> Iterator[BrowserContext]:
    """The other person's browser: cookies, storage and sockets of its own."""
    with watched_context(browser, policy_violations, **PHONE) as context:
        yield context


@pytest.fixture
def bob(second_context: BrowserContext) -> Page:
    return second_context.new_page()


def person(page: Page, username: str) -> Locator:
    """Someone's chip in the conversation's header."""
    return page.locator(f'[data-testid="person"][data-username="{username}"]')


def member(page: Page, username: str) -> Locator:
    """Someone's line in the members dialog."""
    return page.locator(f'[data-testid="member"][data-username="{username}"]')


def open_members(page: Page) -> None:
    page.get_by_test_id("members-open").click()
    expect(page.get_by_test_id("members-dialog")).to_be_visible()


def close_members(page: Page) -> None:
    page.get_by_test_id("members-close").click()
    expect(page.get_by_test_id("members-dialog")).to_be_hidden()


def add_member(page: Page, username: str, role: str) -> None:
    """In the open members dialog, as the owner."""
    page.get_by_test_id("member-username").fill(username)
    page.get_by_test_id("member-add-role").select_option(role)
    page.get_by_test_id("member-add").click()
    expect(member(page, username)).to_have_attribute("data-role", role)


def back_to_the_tab(page: Page) -> None:
    """The person comes back to the tab: the page looks for chats shared with them meanwhile."""
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")


def open_shared_chat(page: Page, owner: str) -> None:
    """Opens the chat `owner` shared, through the drawer on a phone, and waits for its socket."""
    back_to_the_tab(page)
    if not page.get_by_test_id("new-chat").is_visible():
        page.get_by_test_id("sidebar-toggle").click()
    item = page.get_by_test_id("session-item").filter(has=page.get_by_test_id("session-owner").filter(has_text=owner))
    item.get_by_test_id("session-open").click()
    wait_connected(page)


def removed_notice(page: Page) -> None:
    """The chat is gone from the person's page: off the list, and they are told why."""
    expect(page.get_by_test_id("conversation-notice")).to_contain_text("no longer in it")
    expect(page.get_by_test_id("conversation-empty")).to_be_visible()
    expect(page.get_by_test_id("session-item")).to_have_count(0)
    expect(page.get_by_test_id("conversation-head")).to_be_hidden()


def test_two_people_in_one_chat_see_each_other_write_type_and_come_and_go(
    page: Page, bob: Page, daphne: DaphneServer
) -> None:
    alice = page
    verified_user(daphne, "alice", **SHORT_ANSWERS)
    verified_user(daphne, "bob", **SHORT_ANSWERS)
    log_in(alice, daphne, "alice")
    log_in(bob, daphne, "bob")
    expect(bob.get_by_test_id("session-item")).to_have_count(0)
    new_chat(alice)
    expect(alice.get_by_test_id("members-open")).to_have_text("Share")  # nobody else in it yet

    # The owner chooses that the assistant answers only when called, and adds bob; a wrong name says why.
    open_members(alice)
    alice.get_by_test_id("assistant-mode").select_option("mention")
    expect(alice.get_by_test_id("composer-hint")).to_contain_text("@assistant")
    alice.get_by_test_id("member-username").fill("nobody")
    alice.get_by_test_id("member-add").click()
    expect(alice.get_by_test_id("member-error")).to_have_text("There is no user 'nobody'.")
    add_member(alice, "bob", "member")
    expect(member(alice, "bob")).to_have_attribute("data-online", "false")
    alice.get_by_test_id("member-username").fill("bob")
    alice.get_by_test_id("member-add").click()
    expect(alice.get_by_test_id("member-error")).to_have_text("bob is already in this session.")
    screenshot(alice, "21-members-dialog")
    close_members(alice)

    # bob finds the chat shared with him, and each sees the other online.
    open_shared_chat(bob, "alice")
    expect(person(alice, "bob")).to_have_attribute("data-online", "true")
    expect(person(bob, "alice")).to_have_attribute("data-online", "true")
    expect(alice.get_by_test_id("members-open")).to_have_text("People (2)")
    expect(bob.get_by_test_id("members-open")).to_have_text("People (2)")  # his page knows it is shared
    expect(bob.get_by_test_id("composer-hint")).to_contain_text("only messages that mention @assistant")

    # Typing shows on the other side only, and goes away when the message arrives, under its author's name.
    bob.get_by_test_id("composer-input").press_sequentially("Lisbon in May?")
    expect(alice.get_by_test_id("typing")).to_have_text("bob is typing…")
    expect(bob.get_by_test_id("typing")).to_be_hidden()
    bob.get_by_test_id("composer-input").press("Enter")
    from_bob = alice.get_by_test_id("user-message").filter(has_text="Lisbon in May?")
    expect(from_bob.get_by_test_id("message-author")).to_have_text("bob")
    expect(alice.get_by_test_id("typing")).to_be_hidden()
    send(alice, "Yes, let's ask @assistant about the weather.")
    from_alice = bob.get_by_test_id("user-message").filter(has_text="let's ask")
    expect(from_alice.get_by_test_id("message-author")).to_have_text("alice")
    mine = bob.get_by_test_id("user-message").filter(has_text="Lisbon in May?")
    expect(mine.get_by_test_id("message-author")).to_have_text("You")
    wait_answer(bob)  # the mention asked the assistant; bob's own message was not answered
    wait_answer(alice)
    expect(alice.get_by_test_id("assistant-message")).to_have_count(1)
    screenshot(alice, "22-shared-chat-desktop")
    screenshot(bob, "23-shared-chat-phone")

    # The owner removes bob: his page leaves the chat, and alice sees him go.
    open_members(alice)
    member(alice, "bob").get_by_test_id("member-remove").click()
    alice.get_by_test_id("confirm-ok").click()
    expect(member(alice, "bob")).to_have_count(0)
    removed_notice(bob)
    close_members(alice)
    expect(person(alice, "bob")).to_have_count(0)
    expect(alice.get_by_test_id("members-open")).to_have_text("Share")
    screenshot(bob, "24-removed-phone")


def test_a_viewer_reads_but_cannot_write_and_leaves_on_a_phone(page: Page, bob: Page, daphne: DaphneServer) -> None:
    alice = page
    verified_user(daphne, "alice", **SHORT_ANSWERS)
    verified_user(daphne, "bob", **SHORT_ANSWERS)
    log_in(alice, daphne, "alice")
    log_in(bob, daphne, "bob")
    new_chat(alice)
    send(alice, "Say hello.")
    wait_answer(alice)
    open_members(alice)
    add_member(alice, "bob", "viewer")
    close_members(alice)

    open_shared_chat(bob, "alice")
    expect(bob.get_by_test_id("assistant-message")).to_have_count(1)  # he reads the history
    expect(bob.get_by_test_id("composer-input")).to_be_disabled()
    expect(bob.get_by_test_id("composer-hint")).to_contain_text("You are a viewer")
    expect(bob.get_by_test_id("send")).to_be_disabled()
    expect(bob.get_by_test_id("message-regenerate")).to_be_hidden()
    expect(person(alice, "bob")).to_have_attribute("data-online", "true")
    assert bob.evaluate(OVERFLOW, ["conversation-head", "composer", "messages"]) == [0, 0, 0]
    screenshot(bob, "25-viewer-phone")

    # A viewer sees the people but manages nobody; he can leave.
    open_members(bob)
    expect(bob.get_by_test_id("member-add-form")).to_be_hidden()
    expect(bob.get_by_test_id("assistant-mode-text")).to_have_text("The assistant answers every message.")
    expect(member(bob, "alice").get_by_test_id("member-role")).to_have_text("owner")
    expect(member(bob, "alice").get_by_test_id("member-remove")).to_have_count(0)
    box = bob.get_by_test_id("members-dialog").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
    screenshot(bob, "26-members-dialog-phone")
    member(bob, "bob").get_by_test_id("member-leave").click()
    expect(bob.get_by_test_id("confirm-ok")).to_have_text("Leave")
    bob.get_by_test_id("confirm-ok").click()
    expect(bob.get_by_test_id("members-dialog")).to_be_hidden()
    expect(bob.get_by_test_id("conversation-notice")).to_contain_text("You left")
    expect(bob.get_by_test_id("session-item")).to_have_count(0)
    open_members(alice)
    expect(member(alice, "bob")).to_have_count(0)


def test_an_answer_goes_on_in_place_after_a_reload_and_in_a_second_tab(page: Page, daphne: DaphneServer) -> None:
    # About 15 s of answer (paragraphs of Markdown): time to reload and open a tab while it streams.
    log_in(page, daphne, verified_user(daphne, "rita", max_tokens=300, temperature=0.0, use_rag=False))
    new_chat(page)
    send(page, "Explain in detail how a car engine works, step by step, with many paragraphs.")
    before = growing_answer(page, at_least=40)
    session_id = int(re.search(r"[?&]s=(\d+)", page.url).group(1))

    second = page.context.new_page()  # the same person, another tab, opened mid-answer
    second.goto(f"{daphne.url}/?s={session_id}")
    page.reload()
    for tab in (page, second):
        after = growing_answer(tab)
        assert len(after) >= len(before), f"the answer started over: {after!r} after {before!r}"
    for tab in (page, second):
        wait_answer(tab)
        expect(tab.get_by_test_id("assistant-message")).to_have_count(1)
        expect(tab.get_by_test_id("user-message")).to_have_count(1)

    saved = saved_messages(daphne, "rita", session_id)
    answer = saved[-1]
    assert answer["role"] == "assistant" and answer["status"] == "complete" and answer["content"]
    for tab in (page, second):
        shown = tab.evaluate(SHOWN_AGAINST_SAVED, answer["content"])
        assert shown == {"kept": True, "same": True}, "the answer streamed with text missing or repeated"
    screenshot(second, "27-second-tab-after-answer")


def test_an_answer_that_ends_while_the_page_connects_is_shown_finished(page: Page, daphne: DaphneServer) -> None:
    """The page reads the history (the answer still streaming), and its socket is ready only after the answer
    ended: no snapshot and no end reach it, and the page must find out by itself."""
    log_in(page, daphne, verified_user(daphne, "otto", max_tokens=120, temperature=0.0, use_rag=False))
    new_chat(page)
    send(page, "Explain in detail how a car engine works, step by step, with many paragraphs.")
    growing_answer(page)
    session_id = int(re.search(r"[?&]s=(\d+)", page.url).group(1))
    held: list[HeldSocket] = []
    page.route_web_socket(re.compile(r"/ws/chat/"), lambda route: held.append(HeldSocket(route)))
    page.reload()
    expect(page.locator('[data-testid="assistant-message"][data-status="streaming"]')).to_have_count(1)
    while saved_messages(daphne, "otto", session_id)[-1]["status"] == "streaming":
        page.wait_for_timeout(250)  # the answer ends in the server while the page's socket is held
    held[-1].release()
    wait_connected(page)
    wait_answer(page)
    answer = page.get_by_test_id("assistant-message")
    expect(answer).to_have_attribute("data-status", "complete")
    saved = saved_messages(daphne, "otto", session_id)[-1]["content"]
    assert page.evaluate(SHOWN_AGAINST_SAVED, saved)["same"], "the page shows another text than the saved answer"


def test_typing_with_no_chat_open_starts_a_new_chat(page: Page, daphne: DaphneServer) -> None:
    log_in(page, daphne, verified_user(daphne, "nina", **SHORT_ANSWERS))
    expect(page.get_by_test_id("conversation-empty")).to_be_visible()
    expect(page.get_by_test_id("session-item")).to_have_count(0)
    box = page.get_by_test_id("composer-input")
    expect(box).to_be_enabled()
    expect(box).to_have_attribute("placeholder", re.compile("start a new chat"))
    send(page, "Say hello.")
    expect(page.get_by_test_id("session-item")).to_have_count(1)
    expect(page.get_by_test_id("user-message").get_by_test_id("message-body")).to_have_text("Say hello.")
    expect(box).to_have_value("")
    wait_answer(page)
    expect(page.get_by_test_id("assistant-message")).to_have_attribute("data-status", "complete")
    expect(page).to_have_url(re.compile(r"/\?s=\d+$"))
    expect(page.get_by_test_id("session-open")).to_contain_text("Say hello")
    expect(page.get_by_test_id("user-message")).to_have_count(1)  # sent once


# --- Helpers for the answer across a reload --------------------------------------------------------------------


class HeldSocket:
    """A chat socket of the page that reaches the server only on `release()`; what the page sends meanwhile (its
    auth frame) is passed on then."""

    def __init__(self, route: WebSocketRoute) -> None:
        self.route, self.server, self.early = route, None, []
        route.on_message(self.from_page)

    def from_page(self, message: str | bytes) -> None:
        if self.server is None:
            self.early.append(message)
        else:
            self.server.send(message)

    def release(self) -> None:
        self.server = self.route.connect_to_server()
        for message in self.early:
            self.server.send(message)


# The streaming answer's text once the same body has grown by a frame (so it is the live stream's, not the copy of
# the history loaded before the socket's snapshot) and holds at least `atLeast` characters; the body is kept in
# window.__held.
GROWING_ANSWER = """(atLeast) => {
  const body = document.querySelector(
    '[data-testid="assistant-message"][data-status="streaming"] [data-testid="message-body"]');
  const seen = window.__seen;
  window.__seen = body && { body, length: body.textContent.length };
  if (!body || !seen || seen.body !== body || body.textContent.length <= seen.length) return false;
  if (body.textContent.length < atLeast) return false;
  window.__held = body;
  return body.textContent;
}"""
# Whether the finished answer kept the body held while it streamed (it does only when the streamed text is exactly
# the saved one), and whether what it shows is the saved text rendered.
SHOWN_AGAINST_SAVED = """async (content) => {
  const { renderMarkdown } = await import("/static/frontend/markdown.js");
  const answer = document.querySelector('[data-testid="assistant-message"]');
  const body = answer.querySelector('[data-testid="message-body"]');
  const saved = document.createElement("div");
  saved.innerHTML = renderMarkdown(content);  // parsed the same way: "'" is escaped by the renderer, not by innerHTML
  return { kept: body === window.__held, same: body.innerHTML === saved.innerHTML };
}"""


def growing_answer(page: Page, at_least: int = 1) -> str:
    """The text of the answer streaming live in `page` (see GROWING_ANSWER)."""
    return page.wait_for_function(GROWING_ANSWER, arg=at_least, timeout=120_000).json_value()


def saved_messages(server: DaphneServer, username: str, session_id: int) -> list[dict]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        login = client.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access']}"}
        response = client.get(f"/api/sessions/{session_id}/messages/", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["results"]
