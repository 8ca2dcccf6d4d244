import pytest
from django.urls import reverse

SEARCH = reverse("rag-search")
pytestmark = pytest.mark.django_db


@pytest.mark.embeddings
def test_search_returns_ranked_chunks_with_document_page_and_score(auth_client, user, ingest):
    document = ingest(user=user, name="a.md", content="# Aspirin\n\nAspirin relieves headaches and fever.")
    response = auth_client.post(SEARCH, {"query": "headache relief", "top_k": 3}, format="json")
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["document_id"] == document.pk and result["document_title"] == "a"
    assert result["page"] is None and "headaches" in result["text"] and result["score"] > 0


@pytest.mark.embeddings
def test_search_never_returns_a_strangers_chunks(auth_client, stranger, ingest):
    ingest(user=stranger, name="a.md", content="Aspirin relieves headaches and fever.")
    response = auth_client.post(SEARCH, {"query": "aspirin headaches"}, format="json")
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "top_k": 0},
        {"query": "x", "top_k": 21},
        {"query": "x" * 2001},
        {"query": "x", "history": "not a list"},
    ],
)
def test_search_rejects_bad_input(auth_client, body):
    response = auth_client.post(SEARCH, body, format="json")
    assert response.status_code == 400 and response.json()["detail"]


def test_search_needs_authentication(api_client):
    assert api_client.post(SEARCH, {"query": "x"}, format="json").status_code == 401
