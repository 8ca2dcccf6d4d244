"""Clients see a provider's name, never the model server's address: not in frames, saved messages, fallback reasons,
the extractive answer's list of what was tried, an export, nor the model list (issue 14, item 11)."""

import json

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession
from realtime_chat.chat.services.chat import preferences_update, session_create
from tests.consumers.test_chat import authed_socket, receive_turn
from tests.servers import MODEL_NAME, LocalModelServer, free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=24, use_rag=False, temperature=0.0)
    return session_create(user=user)


def assert_no_address(seen: object, *ports: int) -> None:
    """`:port` rather than the bare number, which a timestamp's microseconds could hold by chance."""
    text = json.dumps(seen) if not isinstance(seen, str) else seen
    assert "127.0.0.1" not in text
    for port in ports:
        assert f":{port}" not in text


async def test_a_dead_model_server_s_address_reaches_no_client(
    session: ChatSession, user: User, auth_client: APIClient, settings
) -> None:
    dead_port = free_port()
    settings.OLLAMA_HOST = f"http://127.0.0.1:{dead_port}"
    settings.OLLAMA_MODEL = MODEL_NAME
    settings.OLLAMA_FALLBACK_HOST = ""
    settings.OPENAI_COMPAT_URL = ""
    settings.LLM_EXTRACTIVE_FALLBACK = True
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "Hi"})
    frames = await receive_turn(socket)
    await socket.disconnect()
    messages = await sync_to_async(auth_client.get)(f"/api/sessions/{session.pk}/messages/")
    export = await sync_to_async(auth_client.get)(f"/api/sessions/{session.pk}/export/?format=json")
    models = await sync_to_async(auth_client.get)("/api/models/")

    start = next(frame for frame in frames if frame["type"] == "assistant.start")
    assert (start["provider"], start["fallback_from"]) == ("extractive", [f"ollama/{MODEL_NAME}: connection refused"])
    assert f"- ollama/{MODEL_NAME}: connection refused" in frames[-1]["message"]["content"]
    assert messages.status_code == export.status_code == models.status_code == 200
    assert_no_address(frames, dead_port)
    assert_no_address(messages.json(), dead_port)
    assert_no_address(export.content.decode(), dead_port)
    assert_no_address(models.json(), dead_port)


@pytest.mark.llm
def test_the_model_list_names_providers_without_their_addresses(
    auth_client: APIClient, model_server: LocalModelServer, settings
) -> None:
    dead_port = free_port()
    settings.OLLAMA_HOST = f"http://127.0.0.1:{dead_port}"
    settings.OLLAMA_FALLBACK_HOST = model_server.url
    settings.OLLAMA_MODEL = MODEL_NAME
    settings.OPENAI_COMPAT_URL = ""
    answer = auth_client.get("/api/models/")
    assert answer.status_code == 200
    assert [(model["name"], model["provider"]) for model in answer.json()["models"]] == [
        (MODEL_NAME, "ollama-fallback")
    ]
    assert_no_address(answer.json(), dead_port, int(model_server.url.rsplit(":", 1)[1]))
