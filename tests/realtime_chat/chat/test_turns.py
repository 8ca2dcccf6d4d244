"""The turn action itself (`chat_turn`), at the edges the socket tests cannot time: a cancel while the question
is being saved, a stop before the answer runs, and a failure after it was saved but before any provider was asked."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from realtime_chat.accounts.models import User
from realtime_chat.chat.broadcast import session_group, session_stop_request
from realtime_chat.chat.live import answer_follow
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import GenerationsBusy, preferences_update, session_create
from realtime_chat.chat.services.turns import _turn_open, chat_turn
from realtime_chat.core.fanout import Event, group_join, group_leave

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, use_rag=False)
    return session_create(user=user)


def session_state(session_id: int) -> tuple[ChatSession, list[tuple[str, str, str]]]:
    session = ChatSession.objects.get(pk=session_id)
    return session, list(session.messages.order_by("id").values_list("role", "status", "content"))


async def test_a_turn_cancelled_while_its_question_is_saved_frees_the_session(session, user) -> None:
    turn = chat_turn(user=user, session_id=session.pk, content="Hello there")
    first_frame = asyncio.create_task(anext(turn))
    await asyncio.sleep(0)  # the turn is now waiting for the database thread to save the question
    first_frame.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first_frame
    refreshed, messages = await database_sync_to_async(session_state)(session.pk)
    assert messages == [("user", "complete", "Hello there")]  # saved before anything could fail
    assert refreshed.generating_since is None  # and the next message is not refused as busy
    frames = [frame async for frame in chat_turn(user=user, session_id=session.pk, content="Again")]
    assert frames[0]["type"] == "message.created"


async def test_a_stop_sent_before_the_answer_runs_still_stops_it(session, user, settings) -> None:
    """The stop button shows with `message.created`: a stop sent while the prompt is still being built (passages,
    images) is kept, and ends the answer as soon as it runs."""
    settings.OLLAMA_HOST = "http://127.0.0.1:9"  # nothing listens: the extractive last resort would answer at once
    sockets = SessionSockets()
    await group_join(session_group(session.pk), sockets)
    turn = chat_turn(user=user, session_id=session.pk, content="Tell me a long story.")
    assert (await anext(turn))["type"] == "message.created"
    await session_stop_request(session.pk)
    followed = [frame async for frame in answer_follow(turn)]  # driven by a task of its own, as in production
    assert [f["type"] for f in followed] == ["assistant.end"]  # an SSE stream or a REST request ends as sockets do
    assert [f["type"] for f in sockets.frames] == ["message.created", "assistant.end"]
    assert sockets.frames[-1]["message"]["status"] == Message.Status.CANCELLED
    refreshed, messages = await database_sync_to_async(session_state)(session.pk)
    assert [m[:2] for m in messages] == [("user", "complete"), ("assistant", "cancelled")]
    assert refreshed.generating_since is None
    await group_leave(session_group(session.pk), sockets)


class SessionSockets:
    """What every socket of the session is sent."""

    def __init__(self) -> None:
        self.frames: list[dict] = []

    async def group_event(self, event: Event) -> None:
        self.frames.append(json.loads(event["text"]))


async def test_a_failure_before_the_provider_ends_the_answer_as_an_error(session, user, settings) -> None:
    settings.OLLAMA_MODEL = settings.LOCAL_MODEL_NAME
    settings.LOCAL_MODEL_PATH = "/nonexistent/tokenizer.gguf"  # the prompt cannot be counted
    frames = [frame async for frame in chat_turn(user=user, session_id=session.pk, content="Count me")]
    assert [f["type"] for f in frames] == ["message.created", "error", "assistant.end"]
    assert frames[1]["code"] == "server_error"
    assert frames[-1]["message"]["status"] == Message.Status.ERROR
    refreshed, messages = await database_sync_to_async(session_state)(session.pk)
    assert [m[:2] for m in messages] == [("user", "complete"), ("assistant", "error")]
    assert refreshed.generating_since is None


async def test_questions_opened_side_by_side_still_respect_the_generation_cap(user, settings) -> None:
    """Three of one person's questions, in three sessions, opened at once on the thread pool: two are answered,
    the third is refused `busy` and leaves nothing behind (the cap's row lock, not the order of one thread)."""
    settings.CHAT_PARALLEL_DATABASE_TRIPS, settings.CHAT_MAX_GENERATIONS_PER_USER = True, 2
    sessions = [await database_sync_to_async(session_create)(user=user) for _ in range(3)]
    turns = [chat_turn(user=user, session_id=s.pk, content=f"Question {n}") for n, s in enumerate(sessions)]
    firsts = await asyncio.gather(*(anext(turn) for turn in turns), return_exceptions=True)
    for turn in turns:
        await turn.aclose()
    refused = [first for first in firsts if isinstance(first, GenerationsBusy)]
    opened = [first for first in firsts if isinstance(first, dict) and first["type"] == "message.created"]
    assert (len(opened), len(refused)) == (2, 1)
    states = [await database_sync_to_async(session_state)(s.pk) for s in sessions]
    assert sorted(len(messages) for _, messages in states) == [0, 2, 2]  # question and answer, or nothing


def test_a_turns_writes_before_the_provider_are_one_transaction(session, user) -> None:
    """The question, the session's lock and the empty answer commit together: SQLite lets one transaction write at
    a time, so when many people ask at once each turn queues for it once (twice cost the burst's first tokens)."""
    with CaptureQueriesContext(connection) as captured:
        opened = _turn_open(user=user, session_id=session.pk, content="One commit, please", client_id=None)
    statements = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    assert statements.count("COMMIT") == 1
    begin, commit = statements.index("BEGIN"), statements.index("COMMIT")
    writes = [n for n, statement in enumerate(statements) if statement in {"INSERT", "UPDATE", "DELETE"}]
    assert writes and all(begin < n < commit for n in writes)
    assert opened.answer is not None and opened.context is not None
    assert [m[:2] for m in session_state(session.pk)[1]] == [("user", "complete"), ("assistant", "streaming")]
