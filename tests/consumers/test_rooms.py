"""Shared sessions over the socket: who said what, a viewer's refused message, presence, typing, and a removed
member's sockets closing; through the real ASGI application and the real database."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from consumers.protocol import CLOSE_NOT_FOUND
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.models import Message
from realtime_chat.chat.services.chat import preferences_update
from tests.consumers.test_chat import TIMEOUT, authed_socket, open_socket, receive
from tests.servers import MODEL_NAME

pytestmark = pytest.mark.django_db(transaction=True)


async def closed_with(socket: WebsocketCommunicator) -> int:
    """The close code, passing over the frames sent before it (presence, say)."""
    while (output := await socket.receive_output(timeout=TIMEOUT))["type"] != "websocket.close":
        assert output["type"] == "websocket.send", output
    return output["code"]


async def token_of(user: User) -> str:
    return (await database_sync_to_async(token_pair_issue)(user=user))["access"]


async def test_each_person_sees_the_others_messages_with_their_author(room, user: User, bob: User) -> None:
    owner, member = await authed_socket(user, room.pk), await authed_socket(bob, room.pk)
    await member.send_json_to({"type": "message", "content": "Lisbon in May?"})

    for socket in (owner, member):
        created = await receive(socket)
        assert created["type"] == "message.created"
        assert (created["message"]["author"], created["message"]["content"]) == ("bob", "Lisbon in May?")
        while (frame := await receive(socket))["type"] != "assistant.end":
            pass
        assert frame["message"]["author"] is None and frame["message"]["role"] == "assistant"
    await owner.disconnect()
    await member.disconnect()


async def test_a_viewers_message_is_a_forbidden_error_and_the_socket_stays_usable(room, carol: User) -> None:
    socket = await authed_socket(carol, room.pk)
    await socket.send_json_to({"type": "message", "content": "Let me in", "client_id": None})
    error = await receive(socket)
    assert (error["type"], error["code"]) == ("error", "forbidden") and error["detail"]
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    assert not await database_sync_to_async(Message.objects.filter(content="Let me in").exists)()
    await socket.disconnect()


@pytest.mark.llm
async def test_a_viewer_cannot_stop_the_answer_and_it_goes_on(room, user: User, carol: User, model_server) -> None:
    await database_sync_to_async(preferences_update)(user=user, max_tokens=60, temperature=0.0)
    with override_settings(OLLAMA_HOST=model_server.url, OLLAMA_MODEL=MODEL_NAME):
        owner, viewer = await authed_socket(user, room.pk), await authed_socket(carol, room.pk)
        await owner.send_json_to({"type": "message", "content": "Write a long story about a dragon."})
        while (await receive(viewer))["type"] != "token":
            pass
        await viewer.send_json_to({"type": "stop"})
        refused = await receive(viewer)
        while refused["type"] == "token":
            refused = await receive(viewer)
        assert (refused["type"], refused["code"]) == ("error", "forbidden") and refused["detail"]
        frame = await receive(owner)
        while frame["type"] != "assistant.end":
            frame = await receive(owner)
        assert frame["message"]["status"] == "complete"
    await owner.disconnect()
    await viewer.disconnect()


async def test_a_removed_members_sockets_close_4404_within_a_second(room, user: User, bob: User) -> None:
    first_tab, second_tab = await authed_socket(bob, room.pk), await authed_socket(bob, room.pk)
    owner = APIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Bearer {await token_of(user)}")
    url = reverse("session-member-detail", args=[room.pk, "bob"])

    removed = await database_sync_to_async(owner.delete)(url)

    assert removed.status_code == 204
    for tab in (first_tab, second_tab):
        assert await asyncio.wait_for(closed_with(tab), timeout=1) == CLOSE_NOT_FOUND
    again = await open_socket(room.pk)
    await again.send_json_to(
        {"type": "auth", "token": (await database_sync_to_async(token_pair_issue)(user=bob))["access"]}
    )
    assert await closed_with(again) == CLOSE_NOT_FOUND


async def test_a_stranger_cannot_open_a_socket_on_a_room(room, bob: User, stranger: User) -> None:
    socket = await open_socket(room.pk)
    await socket.send_json_to(
        {"type": "auth", "token": (await database_sync_to_async(token_pair_issue)(user=stranger))["access"]}
    )
    assert await closed_with(socket) == CLOSE_NOT_FOUND


async def test_presence_follows_who_is_online_counting_a_person_once(room, user: User, bob: User) -> None:
    owner = await authed_socket(user, room.pk)
    assert await receive(owner, presence=True) == {"type": "presence", "online": [user.username]}

    member = await authed_socket(bob, room.pk)
    assert await receive(member, presence=True) == {"type": "presence", "online": sorted(["bob", user.username])}
    assert await receive(owner, presence=True) == {"type": "presence", "online": sorted(["bob", user.username])}

    second_tab = await authed_socket(bob, room.pk)  # the same person again: nobody is told anything new
    assert await receive(second_tab, presence=True) == {"type": "presence", "online": sorted(["bob", user.username])}
    await second_tab.disconnect()
    await member.disconnect()
    assert await receive(owner, presence=True) == {"type": "presence", "online": [user.username]}
    await owner.send_json_to({"type": "ping"})
    assert await receive(owner, presence=True) == {"type": "pong"}  # nothing else was announced in between
    await owner.disconnect()


async def test_typing_reaches_the_others_never_the_typists_own_sockets_and_floods_are_dropped(
    room, user: User, bob: User
) -> None:
    owner, member, members_other_tab = (
        await authed_socket(user, room.pk),
        await authed_socket(bob, room.pk),
        await authed_socket(bob, room.pk),
    )
    for _ in range(20):
        await member.send_json_to({"type": "typing"})
    await members_other_tab.send_json_to({"type": "typing"})  # the same person, within 2 s: dropped too

    assert await receive(owner) == {"type": "typing", "user": "bob"}
    for socket in (owner, member, members_other_tab):
        await socket.send_json_to({"type": "ping"})
        assert await receive(socket) == {"type": "pong"}  # one typing frame at most, and none to bob's tabs
    for socket in (owner, member, members_other_tab):
        await socket.disconnect()
