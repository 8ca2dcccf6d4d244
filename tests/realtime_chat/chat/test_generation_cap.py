"""A user's answers at once are capped over all their sessions (`CHAT_MAX_GENERATIONS_PER_USER`): the next
question is refused with `busy` and nothing is saved; other people, dead generations and finished ones do not
count. Through the service, REST and the socket, on the real database."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import (
    GenerationsBusy,
    generation_lock_release,
    member_add,
    session_create,
    user_message_submit,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def asking(user: User, *, session: ChatSession | None = None) -> ChatSession:
    """A session of `user` (or `session`) in which `user`'s question is being answered."""
    session = session or session_create(user=user)
    user_message_submit(session=session, content="Tell me a long story.", author=user)
    return session


def test_a_third_answer_at_once_is_refused_busy_and_nothing_is_saved(user: User) -> None:
    asking(user), asking(user)
    third = session_create(user=user)

    with pytest.raises(GenerationsBusy) as refused:
        user_message_submit(session=third, content="And another one?", author=user)

    assert (refused.value.code, refused.value.status_code, refused.value.extra) == ("busy", 429, {"limit": 2})
    assert "2 answers" in refused.value.detail
    assert not Message.objects.filter(session=third).exists()
    third.refresh_from_db()
    assert third.generating_since is None


def test_other_people_are_not_held_back_by_one_users_answers(user: User, stranger: User) -> None:
    asking(user), asking(user)
    message, _ = user_message_submit(session=session_create(user=stranger), content="Hello?", author=stranger)
    assert message.pk


def test_a_finished_answer_frees_its_place(user: User) -> None:
    first, _second = asking(user), asking(user)
    generation_lock_release(session_id=first.pk)
    asking(user)


def test_an_answer_whose_process_died_does_not_count(user: User, settings) -> None:
    dead, _alive = asking(user), asking(user)
    long_ago = timezone.now() - timedelta(seconds=settings.CHAT_GENERATION_STALE_SECONDS + 1)
    ChatSession.objects.filter(pk=dead.pk).update(generation_heartbeat_at=long_ago)
    asking(user)


def test_messages_the_assistant_is_not_asked_about_are_not_capped(user: User) -> None:
    asking(user), asking(user)
    room = session_create(user=user)
    room.assistant_mode = ChatSession.AssistantMode.MENTION
    room.save()
    message, _ = user_message_submit(session=room, content="Just us humans here", author=user)
    assert message.pk


def test_in_a_room_the_cap_counts_the_member_who_asked_not_the_owner(user: User) -> None:
    bob = UserFactory(username="bob")
    room = session_create(user=user)
    member_add(session=room, username="bob", role="member")
    asking(bob, session=room)
    asking(bob)
    asking(user), asking(user)  # the owner's own places are untouched by bob's answer in their room
    with pytest.raises(GenerationsBusy):
        asking(bob)


def test_zero_means_no_cap(user: User, settings) -> None:
    settings.CHAT_MAX_GENERATIONS_PER_USER = 0
    for _ in range(4):
        asking(user)


@pytest.mark.django_db(transaction=True)  # the view runs the turn on the event loop, off the test's transaction
def test_rest_refuses_with_429_busy_as_json(user: User, auth_client: APIClient, settings) -> None:
    settings.CHAT_MAX_GENERATIONS_PER_USER = 1
    asking(user)
    session = session_create(user=user)
    response = auth_client.post(
        reverse("session-messages", args=[session.pk]), {"content": "Am I next?"}, format="json"
    )
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "busy" and response.json()["detail"]
    assert not Message.objects.filter(session=session).exists()
