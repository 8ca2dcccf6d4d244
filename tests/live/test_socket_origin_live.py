"""The Origin check over a real socket to a real daphne (issue 14, item 7), with the `websockets` client as a
Python program uses it: it sends no Origin unless told to. Before, daphne answered it with HTTP 403."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.models import ChatSession
from tests.servers import DaphneServer

pytestmark = [pytest.mark.live_server, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session(user: User) -> ChatSession:
    return ChatSession.objects.create(owner=user, title="origins")


@pytest.fixture
def token(user: User) -> str:
    return token_pair_issue(user=user)["access"]


async def test_a_program_without_origin_chats_and_another_sites_page_is_refused(
    daphne_without_model: DaphneServer, session: ChatSession, token: str
) -> None:
    url = f"{daphne_without_model.ws_url}/ws/chat/{session.pk}/"
    async with connect(url, open_timeout=30) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "ready"

    with pytest.raises(InvalidStatus) as refused:
        await connect(url, origin="http://evil.example", open_timeout=30)
    assert refused.value.response.status_code == 403
