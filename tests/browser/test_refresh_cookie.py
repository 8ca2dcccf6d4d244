"""The login in a real browser: the refresh token is an HttpOnly cookie no script reads, a reload and a second tab
stay logged in (tabs refreshing at the same moment included), another site cannot log the visitor out, and the
page's Content-Security-Policy refuses injected script."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from tests.browser.steps import PASSWORD, log_in, verified_user
from tests.servers import DaphneServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
COOKIE_PATHS = {"refresh_token": "/api/auth/refresh/", "logout_token": "/api/auth/logout/"}
INJECT_INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = true";
  document.body.append(script);
}"""


def token_cookies(context: BrowserContext) -> dict[str, dict]:
    return {cookie["name"]: cookie for cookie in context.cookies() if cookie["name"] in COOKIE_PATHS}


def test_the_refresh_token_is_a_cookie_no_script_can_read_and_a_reload_stays_logged_in(
    page: Page, daphne: DaphneServer, policy_violations: list[str]
) -> None:
    log_in(page, daphne, verified_user(daphne, "ada"))

    cookies = token_cookies(page.context)
    assert set(cookies) == set(COOKIE_PATHS)
    for name, cookie in cookies.items():
        assert cookie["path"] == COOKIE_PATHS[name]
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    token = cookies["refresh_token"]["value"]
    assert page.evaluate("document.cookie") == ""
    storage = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert token not in storage and "eyJ" not in storage, storage  # no JWT anywhere a script can read
    # Even a script that refreshes itself gets the access token only.
    refreshed = page.evaluate(
        """async () => (await fetch("/api/auth/refresh/", {method: "POST", headers: {"X-Refresh-Cookie": "1"}}))
          .json()"""
    )
    assert set(refreshed) == {"access"}

    response = page.reload()
    expect(page.get_by_test_id("chat-view")).to_be_visible()
    expect(page.get_by_test_id("auth-view")).to_be_hidden()
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "default-src 'none'" in policy
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["referrer-policy"] == "same-origin"

    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(INJECT_INLINE_SCRIPT)
    assert page.evaluate("window.injected") is None
    policy_violations.clear()  # provoked on purpose


def test_a_refused_refresh_token_ends_the_session_cleanly_and_logout_clears_the_cookie(
    page: Page, daphne: DaphneServer
) -> None:
    log_in(page, daphne, verified_user(daphne, "edsger"))
    stale = {"value": "revoked-or-expired", "domain": "127.0.0.1", "httpOnly": True, "secure": True}
    page.context.add_cookies([{"name": name, "path": path, **stale} for name, path in COOKIE_PATHS.items()])
    page.reload()
    expect(page.get_by_test_id("auth-view")).to_be_visible()
    expect(page.get_by_test_id("banner")).to_contain_text("Please log in again")

    log_in(page, daphne, "edsger")
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("auth-view")).to_be_visible()
    assert token_cookies(page.context) == {}
    assert page.evaluate("localStorage.getItem('realtime-chat.signed-in')") is None
    page.reload()
    expect(page.get_by_test_id("auth-view")).to_be_visible()
    expect(page.get_by_test_id("banner")).to_be_hidden()


def test_a_refresh_token_an_older_page_left_in_local_storage_is_revoked(page: Page, daphne: DaphneServer) -> None:
    username = verified_user(daphne, "linus")
    with httpx.Client(base_url=daphne.url, timeout=30) as api:
        login = api.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
        old = login.json()["refresh"]
        page.goto(daphne.url + "/")
        page.evaluate("token => localStorage.setItem('realtime-chat.refresh', token)", old)

        with page.expect_response("**/api/auth/logout/") as logout:
            page.reload()
        assert logout.value.status == 205
        assert page.evaluate("localStorage.getItem('realtime-chat.refresh')") is None
        expect(page.get_by_test_id("auth-view")).to_be_visible()
        assert api.post("/api/auth/refresh/", json={"refresh": old}).status_code == 401


@pytest.mark.parametrize("web_locks", [True, False], ids=["web-locks", "no-web-locks"])
def test_two_tabs_refreshing_at_the_same_moment_both_stay_logged_in(
    page: Page, daphne: DaphneServer, web_locks: bool
) -> None:
    """Tabs share the one cookie, and each refresh spends the token in it. With Web Locks the tabs take turns;
    without (a page over plain http from another machine) both requests are let through together here, and the
    one refused retries with the cookie the winner left."""
    context = page.context
    if not web_locks:
        context.add_init_script("delete Navigator.prototype.locks")
    log_in(page, daphne, verified_user(daphne, "grace"))
    other = context.new_page()
    other.goto(daphne.url + "/")
    expect(other.get_by_test_id("chat-view")).to_be_visible()

    statuses: list[int] = []
    context.on("requestfinished", lambda request: note_refresh(request, statuses))
    if not web_locks:
        hold_until_both_arrive(context)
    page.reload(wait_until="commit")
    other.reload(wait_until="commit")

    for tab in (page, other):
        expect(tab.get_by_test_id("chat-view")).to_be_visible()
        expect(tab.get_by_test_id("banner")).to_be_hidden()
    if web_locks:
        assert statuses == [200, 200]
    else:
        assert sorted(statuses) == [200, 200, 401], "one tab lost the race and tried again"
    for tab in (page, other):  # the login was not revoked either
        tab.reload()
        expect(tab.get_by_test_id("chat-view")).to_be_visible()


def note_refresh(request: Request, statuses: list[int]) -> None:
    response = request.response()
    if request.url.endswith("/api/auth/refresh/") and response is not None:
        statuses.append(response.status)


def hold_until_both_arrive(context: BrowserContext) -> None:
    """The next two refreshes reach the server together, both with the cookie as it is before either is answered.

    The test sends them itself, at once: Chromium attaches cookies only when a held request is let go, so on a busy
    machine the second could leave after the first's answer had already replaced the cookie."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)
        if len(held) == 2:
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies(route.request.url))
            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda waiting: send_with_cookie(waiting.request, cookie), held))
            for waiting, answer in zip(held, answers, strict=True):
                waiting.fulfill(status=answer.status_code, headers=headers_of(answer), body=answer.content)

    context.route("**/api/auth/refresh/", hold, times=2)


def headers_of(answer: httpx.Response) -> dict[str, str]:
    """Playwright takes one value a header; several cookies go as one `set-cookie` of lines, which it splits. The
    body is handed over decoded, so its encoding and length are left out."""
    left_out = ("content-encoding", "content-length", "set-cookie")
    headers = {name: value for name, value in answer.headers.items() if name not in left_out}
    return {**headers, "set-cookie": "\n".join(answer.headers.get_list("set-cookie"))}


def send_with_cookie(request: Request, cookie: str) -> httpx.Response:
    headers = {**request.headers, "cookie": cookie}
    return httpx.post(request.url, headers=headers, content=request.post_data_buffer or b"", timeout=10)


@pytest.fixture
def other_site() -> Iterator[str]:
    """A page on another site (localhost is not the same site as 127.0.0.1) that, once opened, posts a form to the
    logout endpoint at `?target=` and tries the same with fetch, with and without the cookie flow's header."""
    page = b"""<!doctype html><form method="post" id="f"></form><script>
      const target = new URLSearchParams(location.search).get("target");
      const tries = [
        fetch(target, {method: "POST", mode: "no-cors", credentials: "include"}),
        fetch(target, {method: "POST", credentials: "include", headers: {"X-Refresh-Cookie": "1"}}),
      ].map((attempt) => attempt.then((r) => "sent: " + r.type, (e) => "refused: " + e.name));
      Promise.all(tries).then((outcomes) => {
        document.title = outcomes.join(", ");
        const form = document.getElementById("f");
        form.action = target;
        setTimeout(() => form.submit(), 100);
      });
    </script>"""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_another_site_cannot_log_the_visitor_out(page: Page, daphne: DaphneServer, other_site: str) -> None:
    log_in(page, daphne, verified_user(daphne, "mallory-target"))
    token = token_cookies(page.context)["refresh_token"]["value"]

    attacker = page.context.new_page()
    attacker.goto(f"{other_site}?target={daphne.url}/api/auth/logout/")
    attacker.wait_for_url(f"{daphne.url}/api/auth/logout/")  # the form post reached the server...
    expect(attacker.locator("body")).to_contain_text("refresh")  # ...which asked for a token in the body (400)
    assert token_cookies(page.context)["refresh_token"]["value"] == token
    page.reload()  # the token was neither revoked nor spent
    expect(page.get_by_test_id("chat-view")).to_be_visible()
