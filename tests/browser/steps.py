"""What a person does in the page, as steps the browser tests share (fixtures are in conftest.py)."""

from pathlib import Path

import httpx
from playwright.sync_api import Page

from tests.servers import PROJECT_ROOT, DaphneServer

SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
PASSWORD = "correct-horse-battery-staple-42"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def verified_user(server: DaphneServer, username: str, **preferences: object) -> str:
    """A verified account made over the API (the signup test does it through the page), with `preferences`."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        signup = client.post(
            "/api/auth/signup/", json={"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201, signup.text
        token = signup.json()["verification_link"].split("#token=", 1)[1]
        assert client.post("/api/auth/verify-email/", json={"token": token}).status_code == 200
        if preferences:
            login = client.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access']}"}
            response = client.patch("/api/preferences/", json=preferences, headers=headers)
            assert response.status_code == 200, response.text
    return username


def log_in(page: Page, server: DaphneServer, username: str) -> None:
    page.goto(server.url + "/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("chat-view").wait_for()


def new_chat(page: Page) -> None:
    """Creates a chat (through the drawer on a phone) and waits until its socket is connected."""
    if not page.get_by_test_id("new-chat").is_visible():
        page.get_by_test_id("sidebar-toggle").click()
    page.get_by_test_id("new-chat").click()
    wait_connected(page)


def wait_connected(page: Page, timeout: float = 60_000) -> None:
    page.locator('[data-testid="connection-state"][data-state="connected"]').wait_for(timeout=timeout)


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def wait_answer(page: Page, count: int = 1, timeout: float = 120_000) -> None:
    """Waits until `count` answers are finished (complete, cancelled or error)."""
    done = '[data-testid="assistant-message"]:not([data-status="streaming"])'
    # A function, not an expression: Playwright evaluates an expression with eval, which the page's CSP refuses.
    page.wait_for_function(f"() => document.querySelectorAll('{done}').length >= {count}", timeout=timeout)


def wait_streaming_text(page: Page) -> None:
    """Until an answer is streaming and has shown some text."""
    page.wait_for_function(
        """() => {
          const body = document.querySelector(
            '[data-testid="assistant-message"][data-status="streaming"] [data-testid="message-body"]');
          return body && body.textContent.length > 0;
        }""",
        timeout=120_000,
    )
