"""History retention, on real rows, through the job function the schedule calls."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from realtime_chat.accounts.models import User
from realtime_chat.chat import tasks
from realtime_chat.chat.models import ChatSession, Message, UserPreferences
from realtime_chat.chat.services.cleanup import chat_history_delete_expired
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def session_with_messages(owner: User, *ages_in_days: float, generating: bool = False) -> ChatSession:
    """A session whose messages are the given number of days old; its last activity is its newest message."""
    session = ChatSession.objects.create(owner=owner, title="t")
    now = timezone.now()
    for age in ages_in_days:
        message = Message.objects.create(session=session, role=Message.Role.USER, content=f"{age} days old")
        Message.objects.filter(pk=message.pk).update(created_at=now - timedelta(days=age))
    last_activity = now - timedelta(days=min(ages_in_days, default=0))
    ChatSession.objects.filter(pk=session.pk).update(
        created_at=now - timedelta(days=max(ages_in_days, default=0)),
        updated_at=last_activity,
        generating_since=now if generating else None,
    )
    return session


def ages(session: ChatSession) -> list[str]:
    return sorted(Message.objects.filter(session=session).values_list("content", flat=True))


def retention_for(user: User, days: int | None) -> None:
    UserPreferences.objects.update_or_create(user=user, defaults={"history_retention_days": days})


@pytest.fixture
def global_30_days(settings) -> None:
    settings.CHAT_HISTORY_RETENTION_DAYS = 30


# --- retention ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("global_30_days")
def test_global_period_deletes_older_messages_and_keeps_newer_ones(user: User) -> None:
    mixed = session_with_messages(user, 31, 29)

    result = tasks.chat_history_retention()

    assert ages(mixed) == ["29 days old"]
    assert ChatSession.objects.filter(pk=mixed.pk).exists()  # it still has a message inside the period
    assert result.startswith("deleted 1 messages and 0 sessions")


@pytest.mark.usefixtures("global_30_days")
def test_session_whose_every_message_expired_is_deleted(user: User) -> None:
    old = session_with_messages(user, 45, 31)
    tasks.chat_history_retention()
    assert not ChatSession.objects.filter(pk=old.pk).exists()


@pytest.mark.usefixtures("global_30_days")
def test_new_empty_session_is_kept(user: User) -> None:
    fresh = ChatSession.objects.create(owner=user)
    tasks.chat_history_retention()
    assert ChatSession.objects.filter(pk=fresh.pk).exists()


def test_default_global_period_keeps_everything_forever(user: User, settings) -> None:
    del settings.CHAT_HISTORY_RETENTION_DAYS  # not configured at all: keep forever
    ancient = session_with_messages(user, 3650)
    settings.CHAT_HISTORY_RETENTION_DAYS = 0
    also_ancient = session_with_messages(user, 3650)
    assert chat_history_delete_expired().messages == 0
    assert ages(ancient) == ages(also_ancient) == ["3650 days old"]


@pytest.mark.usefixtures("global_30_days")
def test_per_user_period_overrides_the_global_one(user: User, stranger: User) -> None:
    retention_for(user, 7)
    mine = session_with_messages(user, 8, 6)
    theirs = session_with_messages(stranger, 8, 6)  # no preferences row: the global 30 days apply

    tasks.chat_history_retention()

    assert ages(mine) == ["6 days old"]
    assert ages(theirs) == ["6 days old", "8 days old"]


def test_per_user_period_applies_when_the_global_one_keeps_forever(user: User, settings) -> None:
    settings.CHAT_HISTORY_RETENTION_DAYS = 0
    retention_for(user, 1)
    mine = session_with_messages(user, 2, 0.5)
    tasks.chat_history_retention()
    assert ages(mine) == ["0.5 days old"]


@pytest.mark.usefixtures("global_30_days")
def test_per_user_zero_keeps_forever_and_none_follows_the_global_period(user: User, stranger: User) -> None:
    retention_for(user, 0)
    retention_for(stranger, None)
    mine = session_with_messages(user, 400)
    theirs = session_with_messages(stranger, 400, 1)

    tasks.chat_history_retention()

    assert ages(mine) == ["400 days old"]
    assert ages(theirs) == ["1 days old"]


@pytest.mark.usefixtures("global_30_days")
def test_session_generating_an_answer_is_never_touched(user: User) -> None:
    busy = session_with_messages(user, 90, 60, generating=True)
    tasks.chat_history_retention()
    assert ages(busy) == ["60 days old", "90 days old"]

    ChatSession.objects.filter(pk=busy.pk).update(generating_since=None)
    tasks.chat_history_retention()
    assert not ChatSession.objects.filter(pk=busy.pk).exists()


@pytest.mark.usefixtures("global_30_days")
def test_deletes_in_batches_until_done(user: User) -> None:
    session_with_messages(user, *range(31, 36))  # 5 expired messages
    with CaptureQueriesContext(connection) as queries:
        result = chat_history_delete_expired(batch_size=2)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE") and "message" in q["sql"]]
    assert result.messages == 5
    assert len(deletes) >= 3  # 2 + 2 + 1
    assert not Message.objects.exists()


@pytest.mark.usefixtures("global_30_days")
def test_retention_is_idempotent(user: User) -> None:
    session_with_messages(user, 40, 1)
    first, second = chat_history_delete_expired(), chat_history_delete_expired()
    assert (first.messages, second.messages, second.sessions) == (1, 0, 0)


@pytest.mark.usefixtures("global_30_days")
def test_retention_deletes_only_what_is_due_across_many_users() -> None:
    users = UserFactory.create_batch(4)
    retention_for(users[0], 1)
    retention_for(users[1], 0)
    sessions = [session_with_messages(u, 2, 35) for u in users]
    tasks.chat_history_retention()
    assert [len(ages(s)) for s in sessions] == [0, 2, 1, 1]
