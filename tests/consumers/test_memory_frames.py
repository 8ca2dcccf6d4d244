"""`memory.saved` over the real socket: a "remember ..." message in a room is confirmed to the asker's sockets
only; the room's other people see the message, never the memory frame."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession
from realtime_chat.memory.models import Memory
from tests.consumers.test_chat import authed_socket, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def test_memory_saved_reaches_the_askers_sockets_only(room: ChatSession, user: User, bob: User) -> None:
    owner_socket = await authed_socket(user, room.pk)
    bob_socket = await authed_socket(bob, room.pk)
    await bob_socket.send_json_to({"type": "message", "content": "/remember I take the 8:15 train"})
    bob_frames = [await receive(bob_socket)]
    while bob_frames[-1]["type"] != "assistant.end":
        bob_frames.append(await receive(bob_socket))
    saved = [frame for frame in bob_frames if frame["type"] == "memory.saved"]
    assert len(saved) == 1 and saved[0]["memory"]["content"] == "I take the 8:15 train"
    assert saved[0]["memory"]["source_session"] == room.pk
    owner_frames = [await receive(owner_socket)]
    while owner_frames[-1]["type"] != "assistant.end":
        owner_frames.append(await receive(owner_socket))
    assert "memory.saved" not in [frame["type"] for frame in owner_frames]
    assert owner_frames[0]["type"] == "message.created"  # the message itself is the room's
    assert await Memory.objects.filter(user=bob).acount() == 1
    assert await Memory.objects.filter(user=user).acount() == 0
    assert await owner_socket.receive_nothing(timeout=0.2)
    for socket in (owner_socket, bob_socket):
        await socket.disconnect()
    await asyncio.sleep(0)


async def test_a_refused_memory_is_an_error_to_the_asker(room: ChatSession, user: User) -> None:
    socket = await authed_socket(user, room.pk)
    await socket.send_json_to({"type": "message", "content": "remember " + "x" * 600})
    frames = [await receive(socket)]
    while frames[-1]["type"] != "assistant.end":
        frames.append(await receive(socket))
    errors = [frame for frame in frames if frame["type"] == "error"]
    assert errors and errors[0]["code"] == "invalid_memory"
    assert not await database_sync_to_async(Memory.objects.exists)()
    await socket.disconnect()
