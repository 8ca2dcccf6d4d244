"""Document housekeeping: stuck ingestions are retried a bounded number of times; stray files are swept."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from rag import maintenance
from rag.models import Document
from realtime_chat.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.embeddings]


def make_stuck(document: Document, *, attempts: int, minutes_ago: int = 60) -> None:
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.PROCESSING, attempts=attempts, updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_a_stuck_document_is_ingested_again(ingest, user: User, django_capture_on_commit_callbacks) -> None:
    document = ingest(user=user, name="notes.txt", content="Stuck documents get a second chance.")
    make_stuck(document, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert maintenance.documents_retry_stuck() == "1 stuck document(s) retried or failed"
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert document.attempts == 2


def test_a_recent_processing_document_is_left_alone(ingest, user: User) -> None:
    document = ingest(user=user, name="notes.txt", content="Still being worked on.")
    make_stuck(document, attempts=1, minutes_ago=1)
    assert maintenance.documents_retry_stuck() == "0 stuck document(s) retried or failed"
    document.refresh_from_db()
    assert document.status == Document.Status.PROCESSING


def test_a_document_out_of_attempts_is_failed_with_the_reason(ingest, user: User, settings) -> None:
    document = ingest(user=user, name="notes.txt", content="Hangs its worker every time.")
    make_stuck(document, attempts=settings.RAG_INGEST_MAX_ATTEMPTS)
    maintenance.documents_retry_stuck()
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "timed out after 3 attempts" in document.error


def test_sweep_removes_stray_old_files_and_fails_documents_without_a_file(ingest, user: User, settings) -> None:
    kept = ingest(user=user, name="kept.txt", content="This file stays.")
    lost = ingest(user=user, name="lost.txt", content="This file vanishes.")
    Path(lost.file.path).unlink()
    folder = Path(settings.MEDIA_ROOT) / "documents"
    stray_old, stray_new = folder / "stray-old.txt", folder / "stray-new.txt"
    for stray in (stray_old, stray_new):
        stray.write_text("no row refers to me")
    hours_ago = time.time() - 2 * 3600
    os.utime(stray_old, (hours_ago, hours_ago))

    result = maintenance.document_files_sweep()

    assert result == maintenance.FileSweep(files_removed=1, documents_failed=1)
    assert not stray_old.exists() and stray_new.exists()  # a fresh file may belong to an upload in progress
    assert Path(kept.file.path).exists()
    lost.refresh_from_db()
    kept.refresh_from_db()
    assert lost.status == Document.Status.FAILED and "missing" in lost.error
    assert kept.status == Document.Status.READY
    assert maintenance.document_files_sweep() == maintenance.FileSweep(files_removed=0, documents_failed=0)
