"""A forgotten password, reset in a real browser through a real SMTP server: asked for under the login form, the
emailed link followed, the new password set. The new password works, the old one does not, and every login made
with the old one (a browser's cookie, an API client's refresh token) is over."""

import re
from collections.abc import Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import watched_context
from tests.browser.steps import PASSWORD, log_in, screenshot, verified_user
from tests.realtime_chat.accounts.test_email_smtp import Inbox
from tests.servers import DaphneServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def smtp() -> Iterator[Controller]:
    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def daphne_settings(smtp: Controller) -> dict[str, str]:
    return {"TEST_EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "EMAIL_TIMEOUT_SECONDS": "5"}


@pytest.fixture
def second_page(browser: Browser, policy_violations: list[str]) -> Iterator[Page]:
    """Another browser (a context of its own: its own cookies), where the password is reset."""
    with watched_context(browser, policy_violations, viewport={"width": 1280, "height": 820}) as context:
        yield context.new_page()


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    page: Page, second_page: Page, daphne: DaphneServer, smtp: Controller
) -> None:
    inbox: Inbox = smtp.handler
    username = verified_user(daphne, "barbara")
    with httpx.Client(base_url=daphne.url, timeout=30) as api:
        api_login = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD}).json()
    log_in(page, daphne, username)  # logged in here with the old password: this login must end too

    browser = second_page
    browser.goto(daphne.url + "/")
    browser.get_by_test_id("forgot-password").click()
    browser.get_by_test_id("reset-request-email").fill(f"{username}@example.com")
    browser.get_by_test_id("reset-request-submit").click()
    expect(browser.get_by_test_id("reset-request-status")).to_contain_text("we sent it a link")
    screenshot(browser, "password-reset-asked")

    mail = next(message for message in inbox.messages if message["Subject"] == "Reset your password")
    assert mail["To"] == f"{username}@example.com"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(daphne.url)}/reset-password/#token=\S+", body)
    assert link, body

    browser.goto(link.group(0))
    expect(browser.get_by_test_id("reset-form")).to_be_visible()
    assert "#token" not in browser.url, "the token must leave the address bar"
    choose_password(browser, "password123")  # refused by the validators: the link still works for a better one
    expect(browser.get_by_test_id("reset-error")).to_contain_text("too common")
    choose_password(browser, NEW_PASSWORD)
    expect(browser.get_by_test_id("reset-view")).to_have_attribute("data-state", "done")
    screenshot(browser, "password-reset-done")

    browser.get_by_test_id("reset-continue").click()
    browser.get_by_test_id("login-username").fill(username)
    browser.get_by_test_id("login-password").fill(NEW_PASSWORD)
    browser.get_by_test_id("login-submit").click()
    expect(browser.get_by_test_id("chat-view")).to_be_visible()

    with httpx.Client(base_url=daphne.url, timeout=30) as api:
        old = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
        assert old.status_code == 401
        assert api.post("/api/auth/refresh/", json={"refresh": api_login["refresh"]}).status_code == 401
    page.reload()
    expect(page.get_by_test_id("auth-view")).to_be_visible()
    expect(page.get_by_test_id("banner")).to_contain_text("Please log in again")

    browser.goto(link.group(0))  # a link works once
    choose_password(browser, "yet-another-passphrase-77")
    expect(browser.get_by_test_id("reset-view")).to_have_attribute("data-state", "failed")
    expect(browser.get_by_test_id("reset-status")).to_contain_text("already used")


def test_a_link_without_its_token_says_so(page: Page, daphne: DaphneServer) -> None:
    page.goto(daphne.url + "/reset-password/")
    expect(page.get_by_test_id("reset-view")).to_have_attribute("data-state", "failed")
    expect(page.get_by_test_id("reset-status")).to_contain_text("no reset token")
    screenshot(page, "password-reset-no-token")
    expect(page.get_by_test_id("reset-form")).to_be_hidden()


def choose_password(page: Page, password: str) -> None:
    page.get_by_test_id("reset-password").fill(password)
    page.get_by_test_id("reset-password-repeat").fill(password)
    page.get_by_test_id("reset-submit").click()
