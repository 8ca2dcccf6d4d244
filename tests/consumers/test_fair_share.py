"""One user cannot starve everyone of the model: their answers at once are capped (`busy`), and the model
server's places go round-robin, someone waiting with nothing running first, each waiting answer told its
position. Real sockets through the ASGI application, the real bundled model, the real database."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import preferences_update, session_create
from tests.consumers.test_chat import authed_socket, receive, receive_turn
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.llm, pytest.mark.usefixtures("chat_model")]
STORY = "Write a long story about a dragon."


async def until(socket: WebsocketCommunicator, kind: str) -> dict:
    while (frame := await receive(socket))["type"] != kind:
        pass
    return frame


@pytest.fixture
def one_place_at_the_model(settings) -> None:
    settings.LLM_MAX_CONCURRENT_PER_PROVIDER = 1
    settings.CHAT_MAX_GENERATIONS_PER_USER = 2


def sessions_of(user: User, count: int) -> list[ChatSession]:
    preferences_update(user=user, max_tokens=400, use_rag=False, temperature=0.0)
    return [session_create(user=user) for _ in range(count)]


@pytest.mark.usefixtures("one_place_at_the_model")
async def test_a_user_with_two_answers_waits_behind_someone_with_none(user: User) -> None:
    bob = await database_sync_to_async(UserFactory)(username="bob")
    first, second, third = await database_sync_to_async(sessions_of)(user, 3)
    (bobs,) = await database_sync_to_async(sessions_of)(bob, 1)
    alice_1, alice_2 = await authed_socket(user, first.pk), await authed_socket(user, second.pk)
    alice_3, bob_socket = await authed_socket(user, third.pk), await authed_socket(bob, bobs.pk)

    await alice_1.send_json_to({"type": "message", "content": STORY})
    await until(alice_1, "token")  # alice's first answer holds the only place
    await alice_2.send_json_to({"type": "message", "content": STORY})
    assert (await until(alice_2, "assistant.queued"))["position"] == 1

    await alice_3.send_json_to({"type": "message", "content": "A third one at once?"})
    busy = await receive(alice_3)
    assert (busy["type"], busy["code"]) == ("error", "busy") and "2 answers" in busy["detail"]

    await bob_socket.send_json_to({"type": "message", "content": "Say hello."})
    queued = await until(bob_socket, "assistant.queued")
    assert (queued["position"], queued["provider"]) == (1, "ollama")
    assert (await until(alice_2, "assistant.queued"))["position"] == 2  # bob, with nothing running, goes first

    await alice_1.send_json_to({"type": "stop"})
    assert (await receive_turn(alice_1))[-1]["message"]["status"] == "cancelled"
    start = await until(bob_socket, "assistant.start")
    assert start["provider"] == "ollama" and start["fallback_from"] == []
    assert (await until(alice_2, "assistant.queued"))["position"] == 1
    bobs_answer = (await receive_turn(bob_socket))[-1]["message"]
    assert bobs_answer["status"] == "complete" and bobs_answer["provider"] == "ollama"

    assert (await until(alice_2, "assistant.start"))["provider"] == "ollama"
    await alice_2.send_json_to({"type": "stop"})
    await receive_turn(alice_2)
    assert not await database_sync_to_async(Message.objects.filter(session=third).exists)()
    for socket in (alice_1, alice_2, alice_3, bob_socket):
        await socket.disconnect()
