"""Shared sessions for the socket tests: alice's room (the `user` fixture owns it), bob a member, carol a viewer."""

import pytest

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from tests.factories import UserFactory


@pytest.fixture
def room(user: User, settings) -> ChatSession:
    settings.OLLAMA_HOST = "http://127.0.0.1:9"  # nothing listens: the extractive last resort answers at once
    preferences_update(user=user, use_rag=False)
    return session_create(user=user, title="Trip planning")


@pytest.fixture
def bob(room: ChatSession) -> User:
    person = UserFactory(username="bob")
    member_add(session=room, username="bob", role="member")
    preferences_update(user=person, use_rag=False)
    return person


@pytest.fixture
def carol(room: ChatSession) -> User:
    person = UserFactory(username="carol")
    member_add(session=room, username="carol", role="viewer")
    return person
