"""The daily token budget: a turn is refused before the model is called once the day's tokens are spent, with
`budget_exceeded` and when it resets, on REST and on the socket; the question is still saved."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from realtime_chat.accounts.models import UsageLimits, User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.budget import token_budget_get
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from tests.consumers.test_chat import authed_socket, receive

pytestmark = pytest.mark.django_db(transaction=True)  # turns reach the database from other threads
NOTHING_LISTENS = "http://127.0.0.1:9"  # were the model called, the extractive last resort would answer


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=8, use_rag=False, temperature=0.0)
    return session_create(user=user)


def spend(user: User, tokens: int, *, at: datetime | None = None) -> None:
    """An answer to `user` that cost `tokens`, as the turn saves it (in a session of its own)."""
    session = session_create(user=user)
    answer = Message.objects.create(
        session=session, role=Message.Role.ASSISTANT, asked_by=user, prompt_tokens=tokens, completion_tokens=0
    )
    if at is not None:
        Message.objects.filter(pk=answer.pk).update(created_at=at)


def post(client: APIClient, session: ChatSession, content: str, **headers: str):
    return client.post(reverse("session-messages", args=[session.pk]), {"content": content}, format="json", **headers)


def tomorrow_midnight() -> str:
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=1)).isoformat()


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
def test_a_real_turn_spends_the_budget_and_the_next_is_refused_but_saved(
    auth_client: APIClient, user: User, session: ChatSession, settings
) -> None:
    settings.CHAT_DAILY_TOKEN_BUDGET = 1
    assert post(auth_client, session, "Hello!").status_code == 201
    answer = Message.objects.get(session=session, role=Message.Role.ASSISTANT)
    spent = answer.prompt_tokens + answer.completion_tokens

    refused = post(auth_client, session, "And again?")

    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "budget_exceeded" and body["detail"]
    assert body == {"detail": body["detail"], "code": "budget_exceeded", "resets_at": tomorrow_midnight()}
    roles = list(session.messages.values_list("role", "content"))
    assert roles[-1] == ("user", "And again?") and [r for r, _ in roles].count("assistant") == 1
    session.refresh_from_db()
    assert session.generating_since is None  # no lock is taken for an answer that will not be given
    budget = token_budget_get(user=user)
    assert (budget.limit, budget.used, budget.remaining) == (1, spent, 0)


def test_refused_before_any_provider_is_tried(auth_client: APIClient, user: User, session: ChatSession, settings):
    settings.CHAT_DAILY_TOKEN_BUDGET = 100
    settings.OLLAMA_HOST = NOTHING_LISTENS
    spend(user, 100)
    assert post(auth_client, session, "Hi").json()["code"] == "budget_exceeded"
    assert not Message.objects.filter(session=session, role=Message.Role.ASSISTANT).exists()


def test_yesterdays_tokens_do_not_count_and_an_admin_override_wins(
    auth_client: APIClient, user: User, session: ChatSession, settings
) -> None:
    settings.CHAT_DAILY_TOKEN_BUDGET = 100
    settings.OLLAMA_HOST = NOTHING_LISTENS
    spend(user, 5000, at=timezone.now() - timedelta(days=1, hours=1))
    assert post(auth_client, session, "Hi").status_code == 201  # answered (by the extractive last resort)
    spend(user, 100)
    assert post(auth_client, session, "Hi again").status_code == 429
    UsageLimits.objects.create(user=user, daily_token_budget=0)  # unlimited for this user
    assert post(auth_client, session, "And now?").status_code == 201
    UsageLimits.objects.filter(user=user).update(daily_token_budget=10_000)
    assert post(auth_client, session, "Still?").status_code == 201


def test_another_users_spending_is_not_charged_to_me(
    auth_client: APIClient, user: User, stranger: User, session: ChatSession, settings
) -> None:
    settings.CHAT_DAILY_TOKEN_BUDGET = 100
    settings.OLLAMA_HOST = NOTHING_LISTENS
    spend(stranger, 1000)
    assert post(auth_client, session, "Hi").status_code == 201


async def test_socket_refusal_is_an_error_frame_after_the_saved_question(
    user: User, session: ChatSession, settings
) -> None:
    settings.CHAT_DAILY_TOKEN_BUDGET = 10
    settings.OLLAMA_HOST = NOTHING_LISTENS
    await database_sync_to_async(spend)(user, 10)
    socket = await authed_socket(user, session.pk)
    client_id = uuid.uuid4()
    await socket.send_json_to({"type": "message", "content": "Hi", "client_id": str(client_id)})

    created = await receive(socket)
    refused = await receive(socket)

    assert created["type"] == "message.created" and created["message"]["content"] == "Hi"
    assert refused == {
        "type": "error", "code": "budget_exceeded", "detail": refused["detail"], "client_id": str(client_id),
        "resets_at": await database_sync_to_async(tomorrow_midnight)(),
    }  # fmt: skip
    assert "tokens for today" in refused["detail"]
    roles = await database_sync_to_async(lambda: list(session.messages.values_list("role", flat=True)))()
    assert roles == ["user"]
    await socket.disconnect()


def test_in_a_room_the_member_who_asks_pays_not_the_owner(
    auth_client: APIClient, user: User, stranger: User, session: ChatSession, settings
) -> None:
    settings.CHAT_DAILY_TOKEN_BUDGET = 100
    settings.OLLAMA_HOST = NOTHING_LISTENS
    member_add(session=session, username=stranger.username, role="member")
    member = APIClient()
    member.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=stranger)['access']}")
    assert post(member, session, "Hi from the member").status_code == 201
    answer = Message.objects.filter(session=session, role=Message.Role.ASSISTANT).get()
    assert answer.asked_by_id == stranger.pk

    spend(stranger, 100)
    assert post(member, session, "Again").json()["code"] == "budget_exceeded"
    assert post(auth_client, session, "The owner asks").status_code == 201  # the owner's budget is untouched
