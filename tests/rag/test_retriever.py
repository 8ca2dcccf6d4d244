"""The retriever with the real model and real indexes: scope, follow-ups, deletion, index versions."""

import json

import numpy as np
import pytest
from django.urls import reverse

from rag.ingestion.embed import embed_cached, get_embedder
from rag.ingestion.index import current_snapshot
from rag.retrieval.retriever import RetrievedChunk, retrieve_for_user
from tests.factories import UserFactory

pytestmark = [pytest.mark.embeddings, pytest.mark.django_db]

CANARY = "QUOKKA-CANARY-5d1e8b"
METFORMIN = (
    "# Metformin\n\nMetformin is a first-line medicine for type 2 diabetes that lowers blood glucose.\n\n"
    "## Side effects\n\nIts common adverse effects are nausea, diarrhoea and abdominal pain; lactic acidosis is rare."
)
ASPIRIN = "# Aspirin\n\nAspirin relieves pain and fever and, at low dose, prevents blood clots after a heart attack."


def test_results_are_retrieved_chunks_ranked_best_first(user, ingest):
    document = ingest(user=user, name="m.md", content=METFORMIN, title="Metformin leaflet")
    ingest(user=user, name="a.md", content=ASPIRIN, title="Aspirin leaflet")
    results = retrieve_for_user(user=user, query="diabetes medicine that lowers glucose", top_k=2)
    assert isinstance(results[0], RetrievedChunk)
    assert results[0].document_id == document.pk and results[0].document_title == "Metformin leaflet"
    assert results[0].score >= results[1].score
    assert len(retrieve_for_user(user=user, query="aspirin", top_k=1)) == 1


def test_canary_in_a_private_document_never_reaches_another_user(user, stranger, ingest, auth_client):
    ingest(user=stranger, name="secret.txt", content=f"Project codename {CANARY}. The launch is on 3 March.")
    ingest(user=user, name="mine.txt", content="Quokkas are small marsupials that live on Rottnest Island.")
    questions = [CANARY, f"what is {CANARY}?", "project codename", "launch date", "quokka", "secret", "*", "a"]
    secret_id = stranger.documents.get().pk
    for question in questions:
        for chunk in retrieve_for_user(user=user, query=question, top_k=20, history=[CANARY]):
            assert CANARY not in chunk.text and chunk.document_id != secret_id
        assert retrieve_for_user(user=user, query=question, document_ids=[secret_id]) == []
        response = auth_client.post(reverse("rag-search"), {"query": question, "top_k": 20}, format="json")
        assert CANARY not in json.dumps(response.json())
    assert CANARY in retrieve_for_user(user=stranger, query=CANARY, top_k=1)[0].text


def test_shared_documents_are_retrieved_for_everyone(user, ingest):
    staff = UserFactory(is_staff=True)
    policy = "Travel expenses are refunded within 30 days."
    shared = ingest(user=staff, name="policy.txt", content=policy, scope="shared")
    assert retrieve_for_user(user=user, query="when are travel expenses refunded?")[0].document_id == shared.pk


def test_document_ids_only_narrow_the_scope(user, ingest):
    metformin = ingest(user=user, name="m.md", content=METFORMIN)
    aspirin = ingest(user=user, name="a.md", content=ASPIRIN)
    results = retrieve_for_user(user=user, query="diabetes glucose", document_ids=[aspirin.pk])
    assert {chunk.document_id for chunk in results} == {aspirin.pk}
    assert metformin.pk not in {c.document_id for c in results}


def test_follow_up_question_finds_the_thing_discussed(user, ingest):
    metformin = ingest(user=user, name="m.md", content=METFORMIN)
    ingest(user=user, name="a.md", content=ASPIRIN + "\n\n## Side effects\n\nIt can cause stomach bleeding.")
    results = retrieve_for_user(
        user=user, query="and what are its side effects?", history=["What is metformin used for?"], top_k=2
    )
    assert {chunk.document_id for chunk in results} == {metformin.pk}
    assert any("nausea" in chunk.text for chunk in results)
    without_history = retrieve_for_user(user=user, query="and what are its side effects?", top_k=2)
    assert {chunk.document_id for chunk in without_history} != {metformin.pk}


def test_nothing_to_search_returns_nothing(user, stranger, ingest):
    assert retrieve_for_user(user=user, query="anything") == []
    ingest(user=user, name="a.md", content=ASPIRIN)
    assert retrieve_for_user(user=user, query="   ") == []
    assert retrieve_for_user(user=stranger, query="aspirin") == []
    with pytest.raises(ValueError, match="top_k"):
        retrieve_for_user(user=user, query="aspirin", top_k=0)


def test_deleting_a_document_removes_its_vectors(
    user, ingest, auth_client, django_capture_on_commit_callbacks, settings
):
    keep = ingest(user=user, name="a.md", content=ASPIRIN)
    gone = ingest(user=user, name="m.md", content=METFORMIN)
    before = current_snapshot(get_embedder().model_key)
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.delete(reverse("document-detail", kwargs={"pk": gone.pk})).status_code == 204
    settings.RAG_INDEX_CHECK_INTERVAL_MS = 0
    after = current_snapshot(get_embedder().model_key)
    assert after.version == before.version + 1
    positions = after.positions
    assert set(positions.document_ids[positions.alive].tolist()) == {keep.pk}
    assert after.count == keep.chunk_count
    assert all(c.document_id == keep.pk for c in retrieve_for_user(user=user, query="metformin nausea", top_k=10))


@pytest.mark.parametrize("graph_min_rows", [1, 1000])  # every block a graph; every block scanned exactly
def test_blocks_index_above_the_threshold_keeps_the_scope(user, stranger, ingest, settings, graph_min_rows):
    settings.RAG_ANN_THRESHOLD = 2
    settings.RAG_GRAPH_MIN_ROWS = graph_min_rows
    ingest(user=stranger, name="s.txt", content=f"{CANARY} aspirin dosage for adults is 300 mg.")
    mine = ingest(user=user, name="a.md", content=ASPIRIN)
    ingest(user=user, name="m.md", content=METFORMIN)
    assert current_snapshot(get_embedder().model_key).index_type == "blocks"
    results = retrieve_for_user(user=user, query="aspirin dosage", top_k=10)
    assert results[0].document_id == mine.pk
    assert all(CANARY not in chunk.text for chunk in results)


class CountingEmbedder:
    """A fake at the model edge: counts what it is asked to encode."""

    model_key = "counting-model"
    dimension = 3

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded += texts
        return np.ones((len(texts), self.dimension), dtype=np.float32)


def test_embedding_cache_encodes_each_text_once(user, ingest):
    document = ingest(user=user, name="a.md", content=ASPIRIN)
    chunk = document.chunks.get()
    real = get_embedder()
    fake = CountingEmbedder()
    fake.model_key = real.model_key
    fake.dimension = real.dimension
    stored_input = f"{document.title}\n\n{chunk.text}"
    vectors = embed_cached(fake, [stored_input, "new text", "new text"])
    assert fake.encoded == ["new text"]
    assert np.array_equal(vectors[0], np.frombuffer(bytes(chunk.vector), dtype=np.float32))
