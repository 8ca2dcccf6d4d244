"""Chat REST endpoints through DRF's client and the real database: scope, bad input, the turn over HTTP."""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.chat.broadcast import session_control_group
from realtime_chat.chat.frames import check_server_frame
from realtime_chat.chat.live import answer_stop
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import preferences_update, session_create
from realtime_chat.core.fanout import local_receivers

# The message endpoint crosses into async code that manages its own connections, as under daphne: real commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(user: User) -> ChatSession:
    return session_create(user=user, title="Mine")


@pytest.fixture
def strangers_session(stranger: User) -> ChatSession:
    session = session_create(user=stranger, title="Not yours")
    Message.objects.create(session=session, role="user", content="secret canary 7f3a")
    return session


def add_messages(session: ChatSession, count: int) -> list[Message]:
    return [Message.objects.create(session=session, role="user", content=f"message {i}") for i in range(count)]


# --- sessions -----------------------------------------------------------------------------------


def test_sessions_list_only_mine_newest_first(auth_client: APIClient, user: User, strangers_session) -> None:
    older = session_create(user=user, title="older")
    newer = session_create(user=user, title="newer")
    response = auth_client.get(reverse("session-list"))
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [newer.pk, older.pk]


def test_session_create_rename_archive_delete(auth_client: APIClient) -> None:
    created = auth_client.post(reverse("session-list"), {"title": "  Plans  "}, format="json")
    assert created.status_code == 201
    session_id = created.json()["id"]
    assert created.json()["title"] == "Plans"
    renamed = auth_client.patch(reverse("session-detail", args=[session_id]), {"title": "Trips"}, format="json")
    assert renamed.json()["title"] == "Trips"
    archived = auth_client.patch(reverse("session-detail", args=[session_id]), {"archived": True}, format="json")
    assert archived.json()["archived"] is True
    assert auth_client.get(reverse("session-list"), {"archived": "false"}).json() == []
    assert auth_client.delete(reverse("session-detail", args=[session_id])).status_code == 204
    assert auth_client.get(reverse("session-detail", args=[session_id])).status_code == 404


@pytest.mark.parametrize("payload", [{"title": "x" * 201}, {"title": ["list"]}, {"archived": "maybe"}, {"title": None}])
def test_session_update_rejects_bad_input(auth_client: APIClient, session: ChatSession, payload: dict) -> None:
    response = auth_client.patch(reverse("session-detail", args=[session.pk]), payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_session_create_rejects_bad_input(auth_client: APIClient) -> None:
    response = auth_client.post(reverse("session-list"), {"title": "x" * 201}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()["errors"]


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "session-detail", {}),
        ("patch", "session-detail", {"data": {"title": "mine now"}, "format": "json"}),
        ("delete", "session-detail", {}),
        ("get", "session-messages", {}),
        ("get", "session-messages", {"data": {"order": "newest"}}),
        ("get", "session-messages", {"data": {"order": "sideways"}}),  # bad input, still the same 404
        ("post", "session-messages", {"data": {"content": "hi"}, "format": "json"}),
        ("get", "session-export", {}),
    ],
)
def test_strangers_session_is_404_everywhere(
    auth_client: APIClient, strangers_session: ChatSession, method: str, name: str, kwargs: dict
) -> None:
    response = getattr(auth_client, method)(reverse(name, args=[strangers_session.pk]), **kwargs)
    missing = getattr(auth_client, method)(reverse(name, args=[strangers_session.pk + 1000]), **kwargs)
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    strangers_session.refresh_from_db()
    assert strangers_session.title == "Not yours"
    assert strangers_session.messages.count() == 1


def test_chat_endpoints_need_authentication(api_client: APIClient, session: ChatSession) -> None:
    for url in [reverse("session-list"), reverse("session-detail", args=[session.pk]), reverse("preferences"),
                reverse("models"), reverse("history-search") + "?q=x"]:  # fmt: skip
        assert api_client.get(url).status_code == 401


# --- messages -----------------------------------------------------------------------------------


def test_messages_are_cursor_paginated_oldest_first(auth_client: APIClient, session: ChatSession) -> None:
    messages = add_messages(session, 5)
    first = auth_client.get(reverse("session-messages", args=[session.pk]), {"page_size": 3}).json()
    assert [m["id"] for m in first["results"]] == [m.pk for m in messages[:3]]
    second = auth_client.get(first["next"]).json()
    assert [m["id"] for m in second["results"]] == [m.pk for m in messages[3:]]
    assert second["next"] is None


def test_messages_newest_first_page_back_in_time(auth_client: APIClient, session: ChatSession) -> None:
    messages = add_messages(session, 5)
    url = reverse("session-messages", args=[session.pk])
    first = auth_client.get(url, {"order": "newest", "page_size": 2}).json()
    assert [m["id"] for m in first["results"]] == [messages[4].pk, messages[3].pk]
    assert first["previous"] is None
    second = auth_client.get(first["next"]).json()
    assert [m["id"] for m in second["results"]] == [messages[2].pk, messages[1].pk]
    last = auth_client.get(second["next"]).json()
    assert [m["id"] for m in last["results"]] == [messages[0].pk]
    assert last["next"] is None


def test_newest_first_pages_stay_put_when_a_message_arrives_meanwhile(
    auth_client: APIClient, session: ChatSession
) -> None:
    messages = add_messages(session, 4)
    first = auth_client.get(reverse("session-messages", args=[session.pk]), {"order": "newest", "page_size": 2})
    add_messages(session, 1)  # the chat goes on while the reader scrolls up
    older = auth_client.get(first.json()["next"]).json()
    assert [m["id"] for m in older["results"]] == [messages[1].pk, messages[0].pk]


@pytest.mark.parametrize(
    "params",
    [{"order": "sideways"}, {"page_size": "0"}, {"page_size": "many"}, {"cursor": "not-a-cursor"},
     {"order": "newest", "cursor": "bz0tMQ=="}, {"order": "newest", "cursor": "cD15ZXN0ZXJkYXk="}],
)  # fmt: skip
def test_message_list_rejects_bad_parameters(auth_client: APIClient, session: ChatSession, params: dict) -> None:
    add_messages(session, 2)
    response = auth_client.get(reverse("session-messages", args=[session.pk]), params)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_schema_documents_newest_first_history(auth_client: APIClient) -> None:
    schema = json.loads(auth_client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    operation = schema["paths"]["/api/sessions/{session_id}/messages/"]["get"]
    order = next(p for p in operation["parameters"] if p["name"] == "order")
    assert set(order["schema"]["enum"]) == {"oldest", "newest"}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {"next", "previous", "results"}


@pytest.mark.parametrize(
    ("payload", "status"),
    [({}, 400), ({"content": ["x"]}, 400), ({"content": "   "}, 400), ({"content": "x", "client_id": "no"}, 400)],
)
def test_post_message_rejects_bad_input(
    auth_client: APIClient, session: ChatSession, payload: dict, status: int
) -> None:
    response = auth_client.post(reverse("session-messages", args=[session.pk]), payload, format="json")
    assert response.status_code == status
    assert response.json()["detail"]
    assert not session.messages.exists()


def test_post_message_too_long_is_413(auth_client: APIClient, session: ChatSession, settings) -> None:
    settings.CHAT_MAX_MESSAGE_CHARS = 5
    response = auth_client.post(reverse("session-messages", args=[session.pk]), {"content": "123456"}, format="json")
    assert response.status_code == 413
    assert "longer than 5" in response.json()["detail"]


def test_post_message_while_generating_is_409(auth_client: APIClient, session: ChatSession) -> None:
    from django.utils import timezone

    ChatSession.objects.filter(pk=session.pk).update(generating_since=timezone.now())
    response = auth_client.post(reverse("session-messages", args=[session.pk]), {"content": "hi"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "session_busy"


def test_post_message_retry_of_a_saved_client_id_returns_it_and_saves_nothing(
    auth_client: APIClient, session: ChatSession
) -> None:
    client_id = uuid.uuid4()
    saved = Message.objects.create(
        session=session, role="user", content="hi", client_id=client_id, author=session.owner
    )  # its author is read again, in the turn's async code: loaded with the message (this was a 500)
    payload = {"content": "hi", "client_id": str(client_id)}
    response = auth_client.post(reverse("session-messages", args=[session.pk]), payload, format="json")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["author"]) == (saved.pk, session.owner.username)
    assert list(session.messages.all()) == [saved]


@pytest.mark.parametrize(("whose", "status", "code"), [("mine", 400, "invalid"), ("strangers", 404, "not_found")])
def test_a_refused_sse_request_is_one_error_event(
    auth_client: APIClient, session: ChatSession, strangers_session: ChatSession, whose: str, status: int, code: str
) -> None:
    target, payload = (session, {}) if whose == "mine" else (strangers_session, {"content": "hi"})
    url = reverse("session-messages", args=[target.pk])
    response = auth_client.post(url, payload, format="json", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == status
    name, data = response.content.decode().removesuffix("\n\n").split("\n")
    frame = json.loads(data.removeprefix("data: "))
    check_server_frame(frame)
    assert (name, frame["code"]) == ("event: error", code)
    assert ("errors" in frame) is (whose == "mine")  # field errors only where there are fields to blame


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
def test_post_message_returns_the_finished_answer(auth_client: APIClient, user: User, session: ChatSession) -> None:
    preferences_update(user=user, max_tokens=16, use_rag=False)
    response = auth_client.post(reverse("session-messages", args=[session.pk]), {"content": "Hello!"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "assistant" and body["status"] == "complete"
    assert body["content"] and body["model"] == "smollm2:135m"
    assert list(session.messages.values_list("role", flat=True)) == ["user", "assistant"]


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
def test_a_stop_from_a_socket_ends_a_rest_answer_as_cancelled(
    auth_client: APIClient, user: User, session: ChatSession
) -> None:
    """A stop (from the chat page, say) while a REST request waits for its answer: the request gets the answer,
    `cancelled` with its text so far, not a server error."""
    preferences_update(user=user, max_tokens=400, use_rag=False)
    url = reverse("session-messages", args=[session.pk])
    with ThreadPoolExecutor(1) as pool:
        posted = pool.submit(auth_client.post, url, {"content": "Write a long story about a dragon."}, format="json")
        deadline = time.monotonic() + 60
        while not local_receivers(session_control_group(session.pk)) and time.monotonic() < deadline:
            time.sleep(0.02)  # until the turn listens for a stop, as when its `message.created` has gone out
        async_to_sync(answer_stop)(user=user, session_id=session.pk)
        response = posted.result(timeout=120)
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "cancelled"
    assert list(session.messages.values_list("role", "status")) == [("user", "complete"), ("assistant", "cancelled")]


# --- export, search, preferences, models --------------------------------------------------------


def test_export_markdown_and_json(auth_client: APIClient, session: ChatSession) -> None:
    add_messages(session, 2)
    markdown = auth_client.get(reverse("session-export", args=[session.pk]), {"format": "md"})
    assert markdown.status_code == 200
    assert markdown["Content-Type"].startswith("text/markdown")
    assert "# Mine" in markdown.content.decode() and "message 1" in markdown.content.decode()
    as_json = auth_client.get(reverse("session-export", args=[session.pk]), {"format": "json"})
    data = json.loads(as_json.content)
    assert data["session"]["title"] == "Mine" and len(data["messages"]) == 2
    bad = auth_client.get(reverse("session-export", args=[session.pk]), {"format": "pdf"})
    assert bad.status_code == 400


def test_search_finds_only_my_history(auth_client: APIClient, session: ChatSession, strangers_session) -> None:
    Message.objects.create(session=session, role="user", content="my own canary 7f3a")
    hits = auth_client.get(reverse("history-search"), {"q": "canary 7F3A"}).json()
    assert [hit["message"]["content"] for hit in hits] == ["my own canary 7f3a"]
    assert auth_client.get(reverse("history-search"), {"q": ""}).status_code == 400
    assert auth_client.get(reverse("history-search"), {"q": "x" * 201}).status_code == 400


def test_preferences_defaults_and_update(auth_client: APIClient) -> None:
    defaults = auth_client.get(reverse("preferences")).json()
    assert defaults["temperature"] == 0.7 and defaults["use_rag"] is True and defaults["model"] == ""
    response = auth_client.patch(reverse("preferences"), {"temperature": 0.2, "rag_top_k": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["temperature"] == 0.2 and response.json()["rag_top_k"] == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10**6}, "max_tokens"),
        ({"rag_top_k": 50}, "rag_top_k"),
        ({"history_retention_days": -1}, "history_retention_days"),
        ({"use_rag": "sometimes"}, "use_rag"),
        ({"system_prompt": "x" * 4001}, "system_prompt"),
    ],
)
def test_preferences_reject_out_of_range_values_naming_the_field(
    auth_client: APIClient, payload: dict, field: str
) -> None:
    response = auth_client.patch(reverse("preferences"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert field in response.json()["detail"]


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
def test_models_lists_the_real_servers_models_and_rejects_unknown_ones(auth_client: APIClient) -> None:
    models = auth_client.get(reverse("models")).json()
    assert models["default"] == "smollm2:135m"
    assert "smollm2:135m" in {m["name"] for m in models["models"]}
    chosen = auth_client.patch(reverse("preferences"), {"model": "smollm2:135m"}, format="json")
    assert chosen.status_code == 200
    unknown = auth_client.patch(reverse("preferences"), {"model": "llama9:900b"}, format="json")
    assert unknown.status_code == 400
    assert "model" in unknown.json()["errors"]
