"""A chat turn with retrieval, over the socket: numbered sources reach the client and the stored answer, and
another user's documents never do."""

import pytest
from channels.db import database_sync_to_async

from rag.models import Document
from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import preferences_update, session_create
from tests.consumers.test_chat import authed_socket, receive_turn
from tests.rag.factories import document_upload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.llm,
    pytest.mark.embeddings,
    pytest.mark.usefixtures("isolated_rag_storage"),
]

MINE = "The Quenby lighthouse was founded in 1873 by the astronomer Elspeth Marrow. Its lamp burns whale oil."
THEIRS = "Canary 9c41: the Harwick vault code is 7731. The vault sits under the old mill by the river."


@pytest.fixture
def session(user: User, stranger: User, chat_model) -> ChatSession:
    preferences_update(user=user, max_tokens=16, use_rag=True, rag_top_k=2, temperature=0.0)
    for owner, name, text in [(user, "quenby.md", MINE), (stranger, "vault.md", THEIRS)]:
        document = document_upload(user=owner, name=name, content=f"# {name}\n\n{text}\n")
        document.refresh_from_db()
        assert document.status == Document.Status.READY, document.error
    return session_create(user=user)


async def test_sources_are_sent_and_stored_for_my_documents_only(session: ChatSession, user: User) -> None:
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Who founded the Quenby lighthouse, and the vault code?"})
    frames = await receive_turn(socket)
    kinds = [f["type"] for f in frames]
    assert kinds.index("sources") > kinds.index("assistant.start")
    assert kinds[-2:] == ["sources", "assistant.end"]
    sources = frames[kinds.index("sources")]["sources"]
    assert sources and sources[0]["number"] == 1
    assert {s["title"] for s in sources} == {"quenby"}  # the file name without its extension
    assert "Elspeth Marrow" in sources[0]["snippet"]
    stored = await database_sync_to_async(Message.objects.get)(pk=frames[-1]["message"]["id"])
    assert [s["document_id"] for s in stored.sources] == [s["document_id"] for s in sources]
    assert "9c41" not in str(frames)
    await socket.disconnect()


async def test_a_follow_up_question_retrieves_from_the_conversation(session: ChatSession, user: User) -> None:
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Tell me about the Quenby lighthouse."})
    await receive_turn(socket)
    await socket.send_json_to({"type": "message", "content": "And what does its lamp burn?"})
    frames = await receive_turn(socket)
    sources = next(f for f in frames if f["type"] == "sources")["sources"]
    assert any("whale oil" in s["snippet"] for s in sources)
    await socket.disconnect()


async def test_a_user_without_documents_gets_no_sources_until_one_is_ready(user: User, chat_model) -> None:
    """A turn skips retrieval while the user has nothing searchable; the next turn after an upload retrieves."""
    await database_sync_to_async(preferences_update)(user=user, max_tokens=16, use_rag=True, rag_top_k=2)
    session = await database_sync_to_async(session_create)(user=user)
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Who founded the Quenby lighthouse?"})
    frames = await receive_turn(socket)
    assert [f["sources"] for f in frames if f["type"] == "sources"] == [[]]  # retrieval ran, and found nothing
    document = await database_sync_to_async(document_upload)(user=user, name="quenby.md", content=f"# Quenby\n\n{MINE}")
    await database_sync_to_async(document.refresh_from_db)()
    assert document.status == Document.Status.READY, document.error
    await socket.send_json_to({"type": "message", "content": "Who founded the Quenby lighthouse?"})
    frames = await receive_turn(socket)
    sources = next(f for f in frames if f["type"] == "sources")["sources"]
    assert sources and "Elspeth Marrow" in sources[0]["snippet"]
    await socket.disconnect()
