"""The chat socket's login in a real browser: with access tokens that live 15 s, the page renews the socket's
login before each expires, so the socket the chat opened is still the one that answers a minute later."""

import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.browser.steps import log_in, new_chat, send, verified_user, wait_answer
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
TOKEN_SECONDS = 15


@pytest.fixture
def daphne_settings() -> dict[str, str]:
    return {"JWT_ACCESS_MINUTES": str(TOKEN_SECONDS / 60)}


def test_socket_outlives_its_first_token_by_renewing_its_login(page: Page, daphne: DaphneServer) -> None:
    sockets: list[WebSocket] = []
    sent: list[str] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framesent", lambda payload: sent.append(payload if isinstance(payload, str) else ""))

    page.on("websocket", opened)
    log_in(page, daphne, verified_user(daphne, "renewer", max_tokens=8, temperature=0.0, use_rag=False))
    new_chat(page)
    page.wait_for_timeout(TOKEN_SECONDS * 3 * 1000)  # three token lifetimes
    state = page.get_by_test_id("connection-state")
    expect(state).to_have_attribute("data-state", "connected")
    send(page, "Say hello.")
    wait_answer(page)
    expect(page.get_by_test_id("assistant-message")).to_have_attribute("data-status", "complete")
    assert len(sockets) == 1 and not sockets[0].is_closed(), "the socket was closed and reopened"
    renewals = [frame for frame in sent if '"type":"auth"' in frame.replace(" ", "")]
    assert len(renewals) >= 4, f"expected the first login and at least 3 renewals, got {len(renewals)}"
