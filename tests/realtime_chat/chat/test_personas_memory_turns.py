"""Personas and memories in the chat turn, checked on the request the real local model server received (through
a recording proxy, tests/model_requests.py): a persona's prompt and parameters, memories across sessions, their
scope (another user, a room's other members), deletion, "remember ..." in chat and `memory_auto` proposals."""

from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async

from realtime_chat.accounts.models import User
from realtime_chat.chat.frames import check_server_frame
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from realtime_chat.chat.services.memories import PROPOSAL_INSTRUCTIONS, proposals_parse
from realtime_chat.chat.services.turns import chat_turn
from realtime_chat.memory.models import Memory
from realtime_chat.memory.services import memory_create
from realtime_chat.personas.models import Persona
from tests.factories import UserFactory
from tests.model_requests import RecordingProxy, recording_proxy
from tests.servers import MODEL_NAME, LocalModelServer

pytestmark = pytest.mark.django_db(transaction=True)
FACT = "my favourite colour is teal (canary 4d2e)"


@pytest.fixture
def recorded_model(model_server: LocalModelServer, settings) -> Iterator[RecordingProxy]:
    with recording_proxy(model_server, settings) as proxy:
        yield proxy


def quick(user: User, **changes: object) -> None:
    """Short, deterministic answers: the test is about the request, not the answer."""
    preferences_update(user=user, use_rag=False, max_tokens=6, temperature=0.0, **changes)


async def turn(user: User, session: ChatSession, content: str) -> list[dict]:
    frames = [frame async for frame in chat_turn(user=user, session_id=session.pk, content=content)]
    for frame in frames:
        check_server_frame(frame)
    return frames


def of_type(frames: list[dict], kind: str) -> list[dict]:
    return [frame for frame in frames if frame["type"] == kind]


async def test_the_sessions_persona_prompt_and_parameters_reach_the_model_server(
    user: User, recorded_model: RecordingProxy
) -> None:
    await database_sync_to_async(quick)(user, system_prompt="User prompt canary 77a0", top_p=0.9)
    persona = await Persona.objects.acreate(
        owner=user, name="Captain", system_prompt="You are Captain Hook (canary 31f5).", model=MODEL_NAME,
        temperature=0.3, top_p=0.42, max_tokens=5,
    )  # fmt: skip
    session = await database_sync_to_async(session_create)(user=user, persona=persona)
    frames = await turn(user, session, "Who are you?")
    start = of_type(frames, "assistant.start")[0]
    assert (start["persona_id"], start["persona_name"]) == (persona.pk, "Captain")
    request = recorded_model.chats()[-1]
    assert request["model"] == MODEL_NAME
    assert request["options"] == {"temperature": 0.3, "top_p": 0.42, "num_predict": 5}
    system = request["messages"][0]["content"]
    assert "Captain Hook (canary 31f5)" in system and "77a0" not in system  # the persona replaces the user's prompt
    saved = await Message.objects.aget(pk=start["message_id"])
    assert (saved.persona_id, saved.persona_name) == (persona.pk, "Captain")
    assert of_type(frames, "assistant.end")[0]["message"]["persona_name"] == "Captain"

    session.persona = None  # back to the user's own preferences
    await session.asave(update_fields=["persona"])
    frames = await turn(user, session, "And now?")
    assert of_type(frames, "assistant.start")[0]["persona_id"] is None
    request = recorded_model.chats()[-1]
    assert request["options"] == {"temperature": 0.0, "top_p": 0.9, "num_predict": 6}
    assert "77a0" in request["messages"][0]["content"] and "31f5" not in request["messages"][0]["content"]


async def test_a_persona_leaves_unset_settings_to_the_preferences(user: User, recorded_model: RecordingProxy) -> None:
    await database_sync_to_async(quick)(user, top_p=0.8)
    persona = await Persona.objects.acreate(owner=user, name="Terse", system_prompt="Be terse.", max_tokens=3)
    session = await database_sync_to_async(session_create)(user=user, persona=persona)
    await turn(user, session, "Hello")
    assert recorded_model.chats()[-1]["options"] == {"temperature": 0.0, "top_p": 0.8, "num_predict": 3}


async def test_a_memory_said_in_one_session_shapes_another_sessions_prompt_and_never_another_users(
    user: User, stranger: User, recorded_model: RecordingProxy
) -> None:
    for person in (user, stranger):
        await database_sync_to_async(quick)(person)
    first = await database_sync_to_async(session_create)(user=user)
    frames = await turn(user, first, f"Remember that {FACT}")
    saved = of_type(frames, "memory.saved")
    assert len(saved) == 1 and saved[0]["memory"]["content"] == FACT
    assert saved[0]["memory"]["source_session"] == first.pk
    memory = await Memory.objects.aget(user=user)

    second = await database_sync_to_async(session_create)(user=user)
    frames = await turn(user, second, "What is my favourite colour?")
    assert of_type(frames, "assistant.start")[0]["memories_used"] == [memory.pk]
    assert of_type(frames, "assistant.end")[0]["message"]["memories_used"] == [memory.pk]
    system = recorded_model.chats()[-1]["messages"][0]["content"]
    assert "<memories>" in system and "canary 4d2e" in system

    theirs = await database_sync_to_async(session_create)(user=stranger)
    frames = await turn(stranger, theirs, "What is my favourite colour?")
    assert of_type(frames, "assistant.start")[0]["memories_used"] == []
    assert "canary 4d2e" not in recorded_model.chats()[-1]["messages"][0]["content"]

    await memory.adelete()  # what the DELETE endpoint does: out of the very next turn
    frames = await turn(user, second, "What is my favourite colour?")
    assert of_type(frames, "assistant.start")[0]["memories_used"] == []
    assert "canary 4d2e" not in recorded_model.chats()[-1]["messages"][0]["content"]


async def test_memory_off_saves_nothing_and_uses_nothing(user: User, recorded_model: RecordingProxy) -> None:
    await database_sync_to_async(quick)(user, memory_enabled=False)
    await database_sync_to_async(memory_create)(user=user, content=FACT)
    session = await database_sync_to_async(session_create)(user=user)
    frames = await turn(user, session, "remember that I live in Oslo")
    assert [f["code"] for f in of_type(frames, "error")] == ["memory_disabled"]
    assert await Memory.objects.filter(user=user).acount() == 1
    frames = await turn(user, session, "What is my favourite colour?")
    assert of_type(frames, "assistant.start")[0]["memories_used"] == []
    assert "canary 4d2e" not in recorded_model.chats()[-1]["messages"][0]["content"]


async def test_in_a_room_only_the_asking_members_memories_are_used(user: User, recorded_model: RecordingProxy) -> None:
    bob = await database_sync_to_async(UserFactory)(username="bob")
    for person in (user, bob):
        await database_sync_to_async(quick)(person)
    room = await database_sync_to_async(session_create)(user=user)
    await database_sync_to_async(member_add)(session=room, username="bob", role="member")
    await database_sync_to_async(memory_create)(user=user, content="My favourite colour is red (owner canary 11)")
    bobs = await database_sync_to_async(memory_create)(user=bob, content="My favourite colour is blue (bob canary 22)")
    frames = await turn(bob, room, "What is my favourite colour?")
    assert of_type(frames, "assistant.start")[0]["memories_used"] == [bobs.pk]
    system = recorded_model.chats()[-1]["messages"][0]["content"]
    assert "bob canary 22" in system and "owner canary 11" not in system


async def test_memory_auto_asks_the_model_for_proposals_and_saves_none_by_itself(
    user: User, recorded_model: RecordingProxy
) -> None:
    await database_sync_to_async(quick)(user)
    session = await database_sync_to_async(session_create)(user=user)
    frames = await turn(user, session, "I am a nurse and I work nights.")
    assert not of_type(frames, "memory.proposed")
    assert all(PROPOSAL_INSTRUCTIONS not in prompt for prompt in recorded_model.system_prompts())

    await database_sync_to_async(preferences_update)(user=user, memory_auto=True)
    frames = await turn(user, session, "I am a nurse and I work nights.")
    assert [f["type"] for f in frames][-2:] == ["assistant.end", "memory.proposed"]
    proposed = frames[-1]
    assert proposed["message_id"] == of_type(frames, "assistant.end")[0]["message"]["id"]
    request = recorded_model.chats()[-1]
    assert request["messages"] == [
        {"role": "system", "content": PROPOSAL_INSTRUCTIONS},
        {"role": "user", "content": "I am a nurse and I work nights."},
    ]
    assert len(proposed["proposals"]) <= 3  # whatever the tiny model found: its text is not what is tested
    assert await Memory.objects.filter(user=user).acount() == 0  # proposals are saved only once accepted


@pytest.mark.parametrize(
    ("text", "proposals"),
    [
        ("- The user is a nurse.\n- The user works nights.", ["The user is a nurse.", "The user works nights."]),
        ("NONE", []),
        ("- NONE", []),
        ("Sure! Here are facts:\n1. Likes tea\n* Likes tea\n- x", ["Likes tea"]),
        ("- a\n- bbb\n- ccc\n- ddd\n- eee", ["bbb", "ccc", "ddd"]),
        ("I'm a nurse and I work nights.", ["I'm a nurse and I work nights."]),  # no bullet: the plain line
        ("None.", []),
        ("What do you do?\nFacts:", []),
    ],
)
def test_proposals_are_short_distinct_bulleted_lines(text: str, proposals: list[str]) -> None:
    assert proposals_parse(text) == proposals
