"""Waiting for the model, in the page: with one place at the model server, a second person's answer says where
it stands in line, then streams when the first answer is stopped. Two people, two browser contexts."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import watched_context
from tests.browser.steps import log_in, new_chat, send, verified_user, wait_answer, wait_streaming_text
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def daphne_settings() -> dict[str, str]:
    return {"LLM_MAX_CONCURRENT_PER_PROVIDER": "1"}


@pytest.fixture
def second_page(browser: Browser, policy_violations: list[str]) -> Iterator[Page]:
    with watched_context(browser, policy_violations, viewport={"width": 1280, "height": 820}) as context:
        yield context.new_page()


def test_a_waiting_answer_shows_its_place_in_line_then_streams(
    page: Page, second_page: Page, daphne: DaphneServer
) -> None:
    alice = verified_user(daphne, "alice", max_tokens=400, use_rag=False, temperature=0.0)
    bob = verified_user(daphne, "bob", max_tokens=12, use_rag=False, temperature=0.0)
    log_in(page, daphne, alice)
    new_chat(page)
    log_in(second_page, daphne, bob)
    new_chat(second_page)

    # It runs to max_tokens (~3 s here); counting to 1000 stopped after 52 tokens, over before bob asked on a fast CPU.
    send(page, "Write a very long story about a dragon and a knight.")
    expect(page.get_by_test_id("stop")).to_be_visible()
    wait_streaming_text(page)

    send(second_page, "Say hello.")
    waiting = second_page.get_by_test_id("queue-position")
    expect(waiting).to_have_text("Waiting for the model: next in line")
    expect(waiting).to_have_attribute("role", "status")

    page.get_by_test_id("stop").click()
    wait_answer(second_page)
    expect(second_page.get_by_test_id("queue-position")).to_have_count(0)
    answer = second_page.get_by_test_id("assistant-message").last
    expect(answer).to_have_attribute("data-status", "complete")
    expect(answer.get_by_test_id("message-body")).not_to_be_empty()
