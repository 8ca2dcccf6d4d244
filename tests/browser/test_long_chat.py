"""A long chat in a real browser against daphne: it opens at its newest messages, one page of history, and older
pages come in on top as the reader scrolls up, the view staying on what they were reading."""

import pytest
from playwright.sync_api import Page, expect

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import Message
from realtime_chat.chat.services.chat import session_create
from tests.browser.steps import log_in, verified_user, wait_connected
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
MESSAGES = 130  # the page loads 50 at a time


@pytest.fixture
def long_chat(daphne: DaphneServer) -> list[int]:
    """A user `reader` with a chat "Long" of MESSAGES messages; their ids, oldest first. Made before the browser
    starts (Django refuses the ORM while Playwright's event loop runs in this thread)."""
    user = User.objects.get(username=verified_user(daphne, "reader"))
    session = session_create(user=user, title="Long")
    return [
        Message.objects.create(
            session=session, role="user" if n % 2 == 0 else "assistant", content=f"Message number {n}.\n\nMore."
        ).pk
        for n in range(MESSAGES)
    ]


def shown_ids(page: Page) -> list[int]:
    script = "[...document.querySelectorAll('#messages [data-message-id]')].map((e) => Number(e.dataset.messageId))"
    return page.evaluate(script)


def test_a_long_chat_opens_at_its_newest_messages_and_loads_older_ones_on_scrolling_up(
    long_chat: list[int], page: Page, daphne: DaphneServer
) -> None:
    log_in(page, daphne, "reader")
    page.get_by_test_id("session-open").filter(has_text="Long").click()
    wait_connected(page)
    newest = page.locator(f'[data-message-id="{long_chat[-1]}"]')
    expect(newest).to_be_in_viewport()
    assert shown_ids(page) == long_chat[-50:]  # one page, in order
    expect(newest.get_by_test_id("message-regenerate")).to_be_visible()

    messages = page.get_by_test_id("messages")
    first = page.locator(f'[data-message-id="{long_chat[-50]}"]')
    messages.evaluate("(element) => { element.scrollTop = 0; }")
    expect(page.locator("#messages [data-message-id]")).to_have_count(100)
    assert shown_ids(page) == long_chat[-100:]
    expect(first).to_be_in_viewport()  # the reader still sees what they scrolled up to

    messages.evaluate("(element) => { element.scrollTop = 0; }")
    expect(page.locator("#messages [data-message-id]")).to_have_count(MESSAGES)
    assert shown_ids(page) == long_chat
    expect(page.get_by_test_id("history-edge")).to_have_attribute("data-state", "none")
    expect(page.locator('[data-testid="message-regenerate"]:visible')).to_have_count(1)  # the last answer's only
