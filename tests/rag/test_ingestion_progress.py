"""Ingestion people can follow: stage, percent and time left as the task writes them, cancel and retry.

The ingestions that are watched run the real task (`rag.tasks.ingest_document`, what the django-q worker calls) in a
thread of their own, on committed rows, while the test reads the document through the API as the page does.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from rag import services
from rag.models import Chunk, Document
from rag.tasks import ingest_document
from realtime_chat.accounts.models import User
from tests.factories import UserFactory
from tests.rag.factories import document_upload
from tests.rag.files import slow_pdf_bytes, station_log

STAGES = ["queued", "extracting", "chunking", "embedding", "indexing", "done"]


@dataclass(frozen=True)
class Seen:
    status: str
    stage: str
    progress: int
    eta_seconds: int | None


def detail(pk: int) -> str:
    return reverse("document-detail", kwargs={"pk": pk})


def action(name: str, pk: int) -> str:
    return reverse(f"document-{name}", kwargs={"pk": pk})


@pytest.fixture
def small_batches(settings) -> None:
    """Short chunks and small embedding batches: a document of a few kilobytes goes through many batches."""
    settings.RAG_CHUNK_TOKENS = 48
    settings.RAG_CHUNK_OVERLAP_TOKENS = 0
    settings.RAG_EMBEDDING_BATCH_SIZE = 2  # a batch of the embedding stage is 4 of these: 8 chunks
    settings.RAG_PROGRESS_INTERVAL_MS = 0  # every batch is written


@pytest.fixture
def worker() -> Iterator[Callable[[int], threading.Thread]]:
    """Runs the ingestion task in a thread, like a django-q worker, and closes its database connection."""
    threads: list[threading.Thread] = []

    def start(document_id: int) -> threading.Thread:
        def run() -> None:
            try:
                ingest_document(document_id)
            finally:
                connection.close()

        thread = threading.Thread(target=run, name=f"ingest-{document_id}")
        thread.start()
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        thread.join(timeout=120)


def client_of(user: User) -> APIClient:
    from realtime_chat.accounts.services import token_pair_issue

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


def stored(user: User, name: str, text: str) -> Document:
    """Stored and pending, its task not queued: the test's worker runs it."""
    return services.document_store(user=user, upload=SimpleUploadedFile(name, text.encode()))


def watch(client: APIClient, pk: int, until: Callable[[Seen], bool], timeout: float = 240) -> list[Seen]:
    """Read the document through the API as fast as it answers until `until` holds, noting what changed."""
    seen: list[Seen] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(detail(pk)).json()
        now = Seen(body["status"], body["stage"], body["progress"], body["eta_seconds"])
        if not seen or seen[-1] != now:
            seen.append(now)
        if until(now):
            return seen
        time.sleep(0.01)
    pytest.fail(f"the document never got there; seen: {seen}")


@pytest.mark.embeddings
@pytest.mark.django_db(transaction=True)
def test_a_long_document_reports_its_stages_percent_and_time_left_as_it_goes(small_batches, worker):
    user = UserFactory()
    client = client_of(user)
    document = stored(user, "long.md", station_log(400))
    assert client.get(detail(document.pk)).json()["stage"] == "queued"

    thread = worker(document.pk)
    seen = watch(client, document.pk, lambda s: s.status in ("ready", "failed"))
    thread.join(timeout=60)

    assert seen[-1] == Seen("ready", "done", 100, None), seen
    percents = [s.progress for s in seen]
    assert percents == sorted(percents), f"progress went backwards: {percents}"
    embedding = [s for s in seen if s.stage == "embedding"]
    assert len({s.progress for s in embedding if 15 < s.progress < 90}) >= 3, f"too few steps seen: {seen}"
    assert any(s.eta_seconds is not None for s in embedding), f"no time left while embedding: {seen}"
    assert all(s.eta_seconds is None for s in seen if s.stage in ("queued", "extracting", "done"))
    stages = [stage for stage in dict.fromkeys(s.stage for s in seen)]
    assert stages == sorted(stages, key=STAGES.index), f"stages out of order: {stages}"
    assert {"embedding", "done"} <= set(stages)
    assert Chunk.objects.filter(document=document).count() == Document.objects.get(pk=document.pk).chunk_count > 40


@pytest.mark.embeddings
@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_ingestion_and_keeps_none_of_its_chunks(small_batches, worker):
    user = UserFactory()
    client = client_of(user)
    document = stored(user, "long.md", station_log(2000, marker="zanzibarite"))
    thread = worker(document.pk)
    watch(client, document.pk, lambda s: s.stage == "embedding" and s.progress > 16)

    response = client.post(action("cancel", document.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled" and body["stage"] == "cancelled" and body["eta_seconds"] is None
    thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not stop"

    document.refresh_from_db()
    assert document.status == "cancelled" and document.stage == "cancelled"
    assert document.progress == body["progress"] < 90, "the run wrote progress after it was cancelled"
    assert not Chunk.objects.filter(document=document).exists() and document.chunk_count == 0
    results = client.post(reverse("rag-search"), {"query": "zanzibarite station reading"}, format="json")
    assert results.status_code == 200 and results.json()["results"] == []
    assert client.post(action("cancel", document.pk)).status_code == 409


@pytest.mark.embeddings
@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_cancelled_run_is_still_going_is_the_one_that_finishes(small_batches, worker):
    user = UserFactory()
    client = client_of(user)
    document = stored(user, "long.md", station_log(1200))
    first = worker(document.pk)
    watch(client, document.pk, lambda s: s.stage == "embedding" and s.progress > 16)
    assert client.post(action("cancel", document.pk)).status_code == 200
    services.document_retry(document=document)  # queued: its task is run by the test's second worker
    second = worker(document.pk)
    seen = watch(client, document.pk, lambda s: s.status in ("ready", "failed"))
    first.join(timeout=60)
    second.join(timeout=60)
    document.refresh_from_db()
    assert seen[-1].status == "ready" and document.status == "ready" and document.runs == 2
    positions = list(Chunk.objects.filter(document=document).values_list("position", flat=True))
    assert len(positions) == document.chunk_count == len(set(positions)) > 0


@pytest.mark.django_db
def test_cancel_of_a_queued_document_means_its_task_does_nothing(auth_client, user, django_capture_on_commit_callbacks):
    document = document_upload(user=user, name="a.txt", content="Metformin lowers blood glucose.")
    response = auth_client.post(action("cancel", document.pk))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    ingest_document(document.pk)  # the task queued at upload, delivered after the cancel
    document.refresh_from_db()
    assert document.status == "cancelled" and document.attempts == 0 and document.runs == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(action("retry", document.pk))
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["stage"] == "queued"
    body = auth_client.get(detail(document.pk)).json()
    assert (body["status"], body["stage"], body["progress"], body["chunk_count"]) == ("ready", "done", 100, 1)


@pytest.mark.django_db
def test_a_failed_ingestion_says_why_and_can_be_retried(
    auth_client, user, settings, django_capture_on_commit_callbacks
):
    settings.RAG_EXTRACT_TIMEOUT_SECONDS = 0.01  # the parser needs ten times that at least: it is stopped
    slow = slow_pdf_bytes("Elspeth Marrow founded it.", operators=5_000)
    with django_capture_on_commit_callbacks(execute=True):
        document = document_upload(user=user, name="slow.pdf", content=slow)
    body = auth_client.get(detail(document.pk)).json()
    assert (body["status"], body["stage"], body["eta_seconds"]) == ("failed", "failed", None)
    assert "took longer than" in body["error"]
    assert auth_client.post(action("cancel", document.pk)).status_code == 409

    settings.RAG_EXTRACT_TIMEOUT_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(action("retry", document.pk))
    assert response.status_code == 202 and response.json()["error"] == ""
    body = auth_client.get(detail(document.pk)).json()
    assert (body["status"], body["stage"], body["progress"], body["error"]) == ("ready", "done", 100, "")


@pytest.mark.django_db
def test_a_document_whose_file_is_gone_fails_with_that_reason(auth_client, user):
    document = document_upload(user=user, name="a.txt", content="Metformin lowers blood glucose.")
    document.file.delete(save=False)
    ingest_document(document.pk)
    body = auth_client.get(detail(document.pk)).json()
    assert (body["status"], body["stage"]) == ("failed", "failed")
    assert body["error"] == "The uploaded file is missing from storage. Upload it again."


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["cancel", "retry"])
def test_wrong_state_is_409_with_a_reason(auth_client, user, name):
    document = document_upload(user=user, name="a.txt", content="words")
    state = {"cancel": "ready", "retry": "processing"}[name]
    Document.objects.filter(pk=document.pk).update(status=state)
    response = auth_client.post(action(name, document.pk))
    assert response.status_code == 409
    assert response.json()["code"] == {"cancel": "not_ingesting", "retry": "not_retryable"}[name]
    assert state in response.json()["detail"]
    document.refresh_from_db()
    assert document.status == state


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["cancel", "retry"])
def test_another_users_document_is_404_on_cancel_and_retry(auth_client, api_client, stranger, name):
    theirs = document_upload(user=stranger, name="theirs.txt", content="theirs")
    shared = document_upload(user=UserFactory(is_staff=True), name="s.txt", content="shared", scope="shared")
    Document.objects.filter(pk=shared.pk).update(status="failed")
    missing = auth_client.post(action(name, 999_999))
    assert missing.status_code == 404
    for document in (theirs, shared):
        response = auth_client.post(action(name, document.pk))
        assert response.status_code == 404 and response.json() == missing.json()
    assert Document.objects.get(pk=theirs.pk).status == "pending"
    assert Document.objects.get(pk=shared.pk).status == "failed"

    assert api_client.post(action(name, theirs.pk)).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert api_client.post(action(name, theirs.pk)).status_code == 401
