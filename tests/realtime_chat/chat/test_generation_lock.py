"""One generation per session, held by a heartbeat: a lock whose process died is taken over within seconds, and
the answer it left streaming is finished as an error with its text so far."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from realtime_chat.accounts.models import User
from realtime_chat.chat import tasks
from realtime_chat.chat.answer_store import answer_store
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import (
    ABANDONED_ANSWER,
    SessionBusy,
    assistant_message_start,
    generation_heartbeat,
    session_create,
    user_message_submit,
)

pytestmark = pytest.mark.django_db


def generating(user: User, *, heartbeat_seconds_ago: float, partial: str = "Once upon a") -> ChatSession:
    """A session whose answer streams in some process that last beat `heartbeat_seconds_ago`."""
    session = session_create(user=user)
    user_message_submit(session=session, content="Tell me a story.")
    answer = assistant_message_start(session=session, model="m", provider="p", fallback_from=[])
    generation_heartbeat(session_id=session.pk, message_id=answer.pk, partial_text=partial)
    beat = timezone.now() - timedelta(seconds=heartbeat_seconds_ago)
    ChatSession.objects.filter(pk=session.pk).update(generation_heartbeat_at=beat, generating_since=beat)
    session.refresh_from_db()
    return session


def answer_of(session: ChatSession) -> Message:
    return session.messages.get(role="assistant")


def test_a_live_heartbeat_keeps_the_session_busy(user: User, settings) -> None:
    session = generating(user, heartbeat_seconds_ago=settings.CHAT_GENERATION_STALE_SECONDS - 5)
    with pytest.raises(SessionBusy):
        user_message_submit(session=session, content="Are you there?")
    assert answer_of(session).status == "streaming"


def test_a_stopped_heartbeat_is_taken_over_and_its_answer_ends_as_an_error_with_its_text(user: User, settings) -> None:
    session = generating(user, heartbeat_seconds_ago=settings.CHAT_GENERATION_STALE_SECONDS + 1)

    message, duplicate = user_message_submit(session=session, content="Are you there?")

    assert not duplicate and message.content == "Are you there?"
    abandoned = answer_of(session)
    assert (abandoned.status, abandoned.content, abandoned.error) == ("error", "Once upon a", ABANDONED_ANSWER)
    session.refresh_from_db()
    assert session.generating_since is not None  # now held by the new question's turn


def test_the_sweeper_frees_sessions_whose_process_stopped_and_leaves_live_ones(user: User, settings) -> None:
    stale = settings.CHAT_GENERATION_STALE_SECONDS
    dead, alive = generating(user, heartbeat_seconds_ago=stale + 1), generating(user, heartbeat_seconds_ago=1)

    assert tasks.generations_abandoned_finish() == "freed 1 sessions whose generating process stopped"
    assert tasks.generations_abandoned_finish() == "freed 0 sessions whose generating process stopped"

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.generating_since, dead.generation_heartbeat_at) == (None, None)
    assert answer_of(dead).status == "error" and answer_of(dead).content == "Once upon a"
    assert alive.generating_since is not None and answer_of(alive).status == "streaming"


def test_a_heartbeat_keeps_the_text_so_far_and_never_touches_a_finished_answer(user: User) -> None:
    session = generating(user, heartbeat_seconds_ago=0)
    answer = answer_of(session)
    before = session.generation_heartbeat_at

    generation_heartbeat(session_id=session.pk, message_id=answer.pk, partial_text="Once upon a time")

    session.refresh_from_db()
    assert answer_of(session).content == "Once upon a time"
    assert session.generation_heartbeat_at is not None and before is not None
    assert session.generation_heartbeat_at >= before
    Message.objects.filter(pk=answer.pk).update(status="complete", content="Final.")
    generation_heartbeat(session_id=session.pk, message_id=answer.pk, partial_text="late beat")
    assert answer_of(session).content == "Final."


def test_a_takeover_keeps_the_text_the_answer_store_has_beyond_the_last_heartbeat(user: User, settings) -> None:
    session = generating(user, heartbeat_seconds_ago=settings.CHAT_GENERATION_STALE_SECONDS + 1)
    answer, store = answer_of(session), answer_store()

    async def stream_so_far() -> None:  # what the generating process had kept when it died
        await store.begin(session.pk, message_id=answer.pk, model="m", provider="p")
        await store.append(session.pk, "Once upon a time, a dragon")

    async_to_sync(stream_so_far)()
    try:
        user_message_submit(session=session, content="Are you there?")
    finally:
        async_to_sync(store.end)(session.pk)
    assert (answer_of(session).status, answer_of(session).content) == ("error", "Once upon a time, a dragon")
