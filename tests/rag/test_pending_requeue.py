"""A document whose ingestion task was lost (issue 14, item 11) does not stay `pending` forever: it is queued again,
a bounded number of times. Before, only documents stuck in `processing` were retried."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rag import jobs, maintenance
from rag.models import Document
from realtime_chat.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.embeddings]


def make_pending(document: Document, *, attempts: int, minutes_ago: int) -> None:
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.PENDING, attempts=attempts, updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_a_document_pending_past_the_timeout_is_queued_again_and_ingested(
    ingest, user: User, settings, django_capture_on_commit_callbacks
) -> None:
    document = ingest(user=user, name="notes.txt", content="Its task vanished with the broker.")
    make_pending(document, attempts=0, minutes_ago=settings.RAG_PENDING_TIMEOUT_MINUTES + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert maintenance.documents_requeue_pending() == "1 pending document(s) queued again or failed"
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert document.attempts == 2  # the re-queue and the run it led to


def test_a_recently_queued_document_is_left_alone(ingest, user: User, settings) -> None:
    document = ingest(user=user, name="notes.txt", content="Waiting its turn in the queue.")
    make_pending(document, attempts=0, minutes_ago=settings.RAG_PENDING_TIMEOUT_MINUTES - 1)
    assert maintenance.documents_requeue_pending() == "0 pending document(s) queued again or failed"
    document.refresh_from_db()
    assert (document.status, document.attempts) == (Document.Status.PENDING, 0)


def test_a_document_whose_task_keeps_vanishing_is_failed_with_the_reason(ingest, user: User, settings) -> None:
    document = ingest(user=user, name="notes.txt", content="Queued again and again, never run.")
    make_pending(document, attempts=settings.RAG_INGEST_MAX_ATTEMPTS, minutes_ago=24 * 60)
    maintenance.documents_requeue_pending()
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "queued 3 times and never started" in document.error


def test_requeueing_is_a_periodic_job() -> None:
    assert "rag.maintenance.documents_requeue_pending" in {job.func for job in jobs.PERIODIC_JOBS}
