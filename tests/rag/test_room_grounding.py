"""Retrieval in a shared session searches the asking member's own documents and shared ones, never another
member's private documents (a canary in one member's document, two members asking in one room)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
CANARY = "KESTREL-CANARY-91c2"


def ask(user: User, session_id: int, question: str) -> dict:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    response = client.post(reverse("session-messages", args=[session_id]), {"content": question}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_each_member_is_grounded_on_their_own_documents_only(user: User, ingest, settings) -> None:
    settings.OLLAMA_HOST = "http://127.0.0.1:9"  # the extractive answer quotes exactly the passages retrieved
    bob = UserFactory(username="bob")
    secret = ingest(user=bob, name="bob.txt", content=f"The harbour project codename is {CANARY}. Launch in March.")
    mine = ingest(user=user, name="mine.txt", content="The harbour project launches in the spring, weather allowing.")
    room = session_create(user=user, title="Harbour")
    member_add(session=room, username="bob", role="member")
    for person in (user, bob):
        preferences_update(user=person, use_rag=True, rag_top_k=5)

    owners_answer = ask(user, room.pk, f"What is the harbour project codename {CANARY}?")
    bobs_answer = ask(bob, room.pk, "What is the harbour project codename?")

    assert CANARY not in owners_answer["content"]
    assert {source["document_id"] for source in owners_answer["sources"]} == {mine.pk}
    assert CANARY in bobs_answer["content"]
    assert {source["document_id"] for source in bobs_answer["sources"]} == {secret.pk}
