"""Browser tests: Debian's Chromium driven by Playwright against a real daphne serving the test database.

daphne runs with DEBUG on (the page shows the verification link), email verification required, the session's
real local model, and rate limits raised so a test's own logins and messages never trip them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from tests.servers import PROJECT_ROOT, DaphneServer, LocalModelServer, database_url, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
expect.set_options(timeout=30_000)  # the machine is shared and small: give the page time


@pytest.fixture
def daphne_settings() -> dict[str, str]:
    """More settings for daphne: a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def daphne(
    transactional_db: None, model_server: LocalModelServer, daphne_settings: dict[str, str]
) -> Iterator[DaphneServer]:
    """Stopped before the database is flushed, like tests/live's `live_daphne`, with settings for a browser."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs it)")
    port = free_port()
    log_path = PROJECT_ROOT / "test-output" / "daphne-browser.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        server = DaphneServer(
            database=database_url(connection.settings_dict),
            ollama_host=model_server.url,
            port=port,
            log=log,
            env={
                "DEBUG": "true",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "REQUIRE_EMAIL_VERIFICATION": "true",
                "THROTTLE_LOGIN": "1000/min",
                "THROTTLE_SIGNUP": "1000/min",
                "CHAT_MESSAGES_PER_MINUTE": "1000",
                "CHAT_CONNECTIONS_PER_MINUTE": "1000",
                **daphne_settings,
            },
        )
        yield server
        server.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    # Function-scoped on purpose: Playwright's sync API keeps an event loop in this thread while it runs,
    # and Django refuses ORM calls (the flush after a transactional test) while one is running.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def policy_violations() -> list[str]:
    """What Chromium's console reported against the pages' Content-Security-Policy or Permissions-Policy, in any
    page of the test's contexts; every browser test must end with none (a test that provokes one removes it)."""
    return []


@pytest.fixture
def page(browser: Browser, policy_violations: list[str]) -> Iterator[Page]:
    with watched_context(browser, policy_violations, viewport={"width": 1280, "height": 820}) as context:
        yield context.new_page()


@pytest.fixture
def phone(browser: Browser, policy_violations: list[str]) -> Iterator[Page]:
    options = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
    with watched_context(browser, policy_violations, **options) as context:
        yield context.new_page()


@contextmanager
def watched_context(browser: Browser, violations: list[str], **options: Any) -> Iterator[BrowserContext]:
    """A browser context whose policy violations are noted in `violations`, checked when it closes."""
    context = browser.new_context(**options)
    context.set_default_timeout(30_000)
    context.on("console", lambda message: note_policy_violation(message, violations))
    try:
        yield context
    finally:
        context.close()
    assert not violations, f"the page broke its own policies: {violations}"


def note_policy_violation(message: ConsoleMessage, violations: list[str]) -> None:
    if any(policy in message.text for policy in ("Content Security Policy", "Permissions-Policy")):
        violations.append(message.text)
