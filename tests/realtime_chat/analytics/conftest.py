"""Turns made for the analytics tests: real ones (through the REST API, against the bundled model) and recorded
ones, saved as the turn saves them but at a chosen time, for figures that must be exact."""

from collections.abc import Callable
from datetime import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import preferences_update, session_create


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=8, use_rag=False, temperature=0.0)
    return session_create(user=user)


def real_turn(client: APIClient, session: ChatSession, content: str) -> dict:
    """One turn through the REST endpoint (the same `chat_turn` as the socket); the finished answer."""
    response = client.post(reverse("session-messages", args=[session.pk]), {"content": content}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


RecordTurn = Callable[..., Message]


@pytest.fixture
def record_turn() -> RecordTurn:
    def record(
        *, user: User, at: datetime, first_token_ms: int | None = 100, total_ms: int | None = 1100,
        prompt_tokens: int = 10, completion_tokens: int = 20, status: str = Message.Status.COMPLETE,
        model: str = "smollm2:135m", provider: str = "local", fallback_from: list[str] | None = None,
        sources: list[dict] | None = None,
    ) -> Message:  # fmt: skip
        session = ChatSession.objects.filter(owner=user).first() or session_create(user=user)
        message = Message.objects.create(
            session=session, role=Message.Role.ASSISTANT, asked_by=user, status=status, model=model,
            provider=provider, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            first_token_ms=first_token_ms, total_ms=total_ms, fallback_from=fallback_from or [],
            sources=sources or [],
        )  # fmt: skip
        Message.objects.filter(pk=message.pk).update(created_at=at)  # auto_now_add: the time is set after
        return message

    return record
