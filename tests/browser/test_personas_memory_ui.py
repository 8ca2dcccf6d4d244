"""Personas and memory in the browser (Chromium against a real daphne and the real local model): the personas
page, the persona picker of a new chat and of the chat's header, "remember ..." in a chat, the used-memories line
under an answer (removable from there), and the memory page."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import PASSWORD, log_in, screenshot, send, verified_user, wait_answer, wait_connected
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
QUICK = {"use_rag": False, "max_tokens": 8, "temperature": 0.0}


def api_memories(server: DaphneServer, username: str) -> list[str]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = client.post("/api/auth/login/", json={"username": username, "password": PASSWORD}).json()["access"]
        response = client.get("/api/memories/", headers={"Authorization": f"Bearer {token}"})
        return [memory["content"] for memory in response.json()]


def test_a_persona_made_on_its_page_answers_a_new_chat_and_memories_show_under_answers(
    daphne: DaphneServer, page: Page
) -> None:
    username = verified_user(daphne, "ada", **QUICK)
    log_in(page, daphne, username)

    page.get_by_test_id("nav-personas").click()
    page.get_by_test_id("persona-name-input").fill("Captain")
    page.get_by_test_id("persona-prompt").fill("You are a ship's captain.")
    page.get_by_test_id("persona-max-tokens").fill("6")
    page.get_by_test_id("persona-submit").click()
    item = page.get_by_test_id("persona-item").filter(has_text="Captain")
    expect(item).to_have_count(1)
    item.get_by_test_id("persona-edit").click()
    expect(page.get_by_test_id("persona-max-tokens")).to_have_value("6")
    page.get_by_test_id("persona-name-input").fill("Captain Hook")
    page.get_by_test_id("persona-submit").click()
    expect(page.get_by_test_id("persona-name")).to_have_text(["Captain Hook"])

    page.get_by_test_id("nav-chat").click()
    page.get_by_test_id("new-chat-persona").select_option(label="Captain Hook")
    page.get_by_test_id("new-chat").click()
    wait_connected(page)
    send(page, "Hello there")
    wait_answer(page)
    expect(page.get_by_test_id("message-persona").first).to_have_text("as Captain Hook")
    expect(page.get_by_test_id("session-persona").locator("option:checked")).to_have_text("Captain Hook")

    send(page, "remember that I prefer metric units")
    expect(page.get_by_test_id("toast").filter(has_text="Remembered: I prefer metric units")).to_be_visible()
    wait_answer(page, 2)
    send(page, "Which units do I prefer?")
    wait_answer(page, 3)
    used = page.get_by_test_id("assistant-message").last.get_by_test_id("used-memories")
    expect(used).to_contain_text("I prefer metric units")
    screenshot(page, "used-memories")
    used.get_by_test_id("used-memory-remove").click()
    expect(page.get_by_test_id("used-memories")).to_have_count(0)
    assert api_memories(daphne, username) == []

    page.get_by_test_id("session-persona").select_option(label="My preferences")
    expect(page.get_by_test_id("toast").filter(has_text="Your own preferences answer")).to_be_visible()
    send(page, "And now?")
    wait_answer(page, 4)
    expect(page.get_by_test_id("assistant-message").last.get_by_test_id("message-persona")).to_have_count(0)


def test_the_memory_page_adds_edits_deletes_and_turns_memory_off(daphne: DaphneServer, page: Page) -> None:
    username = verified_user(daphne, "grace", **QUICK)
    log_in(page, daphne, username)
    page.get_by_test_id("nav-memory").click()
    expect(page.get_by_test_id("memory-empty")).to_be_visible()
    expect(page.get_by_test_id("memory-enabled")).to_be_checked()
    page.get_by_test_id("memory-input").fill("I live in Oslo")
    page.get_by_test_id("memory-add").click()
    expect(page.get_by_test_id("memory-content")).to_have_text(["I live in Oslo"])
    page.get_by_test_id("memory-edit").click()
    page.get_by_test_id("memory-edit-input").fill("I live in Bergen")
    page.get_by_test_id("memory-save").click()
    expect(page.get_by_test_id("memory-content")).to_have_text(["I live in Bergen"])
    assert api_memories(daphne, username) == ["I live in Bergen"]

    page.get_by_test_id("memory-input").evaluate("input => { input.maxLength = 1000; }")  # the API's own check
    page.get_by_test_id("memory-input").fill("x" * 501)
    page.get_by_test_id("memory-add").click()
    expect(page.get_by_test_id("memory-error")).not_to_be_empty()

    page.get_by_test_id("memory-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("memory-item")).to_have_count(0)
    assert api_memories(daphne, username) == []

    page.get_by_test_id("memory-enabled").uncheck()
    expect(page.get_by_test_id("toast").filter(has_text="Memory is off")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("memory-view")).to_be_visible()
    expect(page.get_by_test_id("memory-enabled")).not_to_be_checked()


def test_a_fact_the_model_proposes_is_saved_only_once_accepted(daphne: DaphneServer, page: Page) -> None:
    username = verified_user(daphne, "florence", **QUICK, memory_auto=True)
    log_in(page, daphne, username)
    page.get_by_test_id("new-chat").click()
    wait_connected(page)
    send(page, "I am a nurse and I work nights.")
    wait_answer(page)
    proposal = page.get_by_test_id("memory-proposal").first
    expect(proposal).to_be_visible(timeout=120_000)  # asked of the model once the answer has ended
    assert api_memories(daphne, username) == []  # a proposal is not a memory
    fact = proposal.locator("span").first.inner_text()
    proposal.get_by_test_id("memory-accept").click()
    expect(proposal).to_have_attribute("data-state", "accepted")
    assert api_memories(daphne, username) == [fact]
