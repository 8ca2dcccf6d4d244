"""Indexes that follow the database: a version per model, deltas by document, a new generation built beside the
index answering and swapped in, and uploads kept by whatever storage Django is configured with."""

import time

import pytest
from django.db import transaction

from rag.ingestion.embed import get_embedder
from rag.ingestion.index import current_snapshot, index_changes_record, index_generation_bump
from rag.models import Chunk, Document, IndexChange, IndexState
from rag.retrieval.retriever import retrieve_for_user
from realtime_chat.accounts.models import User

pytestmark = [pytest.mark.embeddings, pytest.mark.django_db]

ASPIRIN = "Aspirin relieves pain and fever and, at low dose, prevents blood clots after a heart attack."
METFORMIN = "Metformin is a first-line medicine for type 2 diabetes that lowers blood glucose."


def written_by_another_process(source: Document, *, owner: User, title: str) -> Document:
    """What another host's ingestion leaves behind: a ready document, its chunks and the logged change; nothing of
    it passes through this process's index."""
    document = Document.objects.create(
        owner=owner,
        title=title,
        kind="txt",
        size_bytes=1,
        sha256=title,
        status=Document.Status.READY,
        file="documents/elsewhere.txt",
    )
    with transaction.atomic():
        Chunk.objects.bulk_create(
            Chunk(
                document=document,
                position=chunk.position,
                text=chunk.text,
                token_count=chunk.token_count,
                embedding_model=chunk.embedding_model,
                text_hash=chunk.text_hash,
                vector=chunk.vector,
            )
            for chunk in source.chunks.all()
        )
        index_changes_record(model_keys=[get_embedder().model_key], document_ids=[document.pk])
    return document


def test_each_write_bumps_the_version_and_logs_its_document(user, ingest):
    model_key = get_embedder().model_key
    first = ingest(user=user, name="a.txt", content=ASPIRIN)
    second = ingest(user=user, name="m.txt", content=METFORMIN)
    assert IndexState.objects.get(embedding_model=model_key).version == 2
    logged = IndexChange.objects.filter(embedding_model=model_key).order_by("version")
    assert list(logged.values_list("version", "document_id")) == [(1, first.pk), (2, second.pk)]
    assert current_snapshot(model_key).version == 2


def test_a_change_written_by_another_process_is_applied_after_the_check_interval(user, ingest, settings):
    model_key = get_embedder().model_key
    aspirin = ingest(user=user, name="a.txt", content=ASPIRIN)
    settings.RAG_INDEX_CHECK_INTERVAL_MS = 60_000
    first = current_snapshot(model_key)
    copy = written_by_another_process(aspirin, owner=user, title="Copy from elsewhere")
    assert current_snapshot(model_key) is first  # the version is read at most once per interval
    assert copy.pk not in {c.document_id for c in retrieve_for_user(user=user, query="aspirin", top_k=5)}
    settings.RAG_INDEX_CHECK_INTERVAL_MS = 0
    second = current_snapshot(model_key)
    assert second.version == first.version + 1
    assert copy.pk in {c.document_id for c in retrieve_for_user(user=user, query="aspirin", top_k=5)}


def test_a_delta_keeps_the_other_rows_and_masks_the_removed_ones(user, ingest, auth_client, settings):
    settings.RAG_INDEX_CHECK_INTERVAL_MS = 0
    documents = [ingest(user=user, name=f"{n}.txt", content=f"{ASPIRIN} Note {n}.") for n in range(6)]
    model_key = get_embedder().model_key
    before = current_snapshot(model_key)
    assert auth_client.delete(f"/api/documents/{documents[0].pk}/").status_code == 204
    after = current_snapshot(model_key)
    assert len(after.positions.chunk_ids) == len(before.positions.chunk_ids)  # no rebuild: one row masked
    assert after.count == before.count - 1 and after.dense is not before.dense
    assert documents[0].pk not in set(after.positions.document_ids[after.positions.alive].tolist())
    for document in documents[1:4]:  # past a quarter of rows removed, the snapshot is compacted
        assert auth_client.delete(f"/api/documents/{document.pk}/").status_code == 204
    compacted = current_snapshot(model_key)
    assert len(compacted.positions.chunk_ids) == compacted.count == 2
    assert compacted.dense is not None and compacted.dense.ntotal == 2
    found = {c.document_id for c in retrieve_for_user(user=user, query="aspirin note", top_k=5)}
    assert found == {documents[4].pk, documents[5].pk}


def test_reingesting_a_document_replaces_its_rows(user, ingest, auth_client, django_capture_on_commit_callbacks):
    document = ingest(user=user, name="a.txt", content=ASPIRIN)
    model_key = get_embedder().model_key
    first = current_snapshot(model_key)
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.post(f"/api/documents/{document.pk}/reindex/").status_code in (200, 202)
    after = current_snapshot(model_key)
    assert after.version > first.version and after.count == 1
    assert set(after.positions.chunk_ids[after.positions.alive].tolist()) == set(
        document.chunks.values_list("id", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_new_generation_is_built_beside_the_index_answering_and_swapped_in(user, ingest, settings):
    settings.RAG_INDEX_REFRESH_IN_BACKGROUND = True
    settings.RAG_INDEX_CHECK_INTERVAL_MS = 0
    ingest(user=user, name="a.txt", content=ASPIRIN)
    model_key = get_embedder().model_key
    first = current_snapshot(model_key)
    index_generation_bump(model_key)
    assert current_snapshot(model_key) is first  # answers at once from the current index while the new one builds
    deadline = time.monotonic() + 30
    while (snapshot := current_snapshot(model_key)) is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert snapshot is not first and snapshot.generation == first.generation + 1
    assert snapshot.count == first.count == 1
    assert retrieve_for_user(user=user, query="aspirin", top_k=1)[0].text == ASPIRIN


def test_uploads_are_kept_by_the_configured_storage(user, ingest, settings, tmp_path):
    """Any Django storage works (S3 through django-storages): the parser gets a temporary local copy."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    document = ingest(user=user, name="a.txt", content=ASPIRIN)
    assert document.status == Document.Status.READY
    with document.file.open("rb") as stored:
        assert stored.read() == ASPIRIN.encode()
    assert not (tmp_path / "media").exists()
    assert retrieve_for_user(user=user, query="aspirin", top_k=1)[0].document_id == document.pk
