"""Browser tests: Debian's Chromium driven by Playwright against a real daphne serving the test database.

daphne runs with DEBUG on (the page shows the verification link), email verification required, the session's
real local model, and rate limits raised so a test's own logins and messages never trip them.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, expect, sync_playwright

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
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
