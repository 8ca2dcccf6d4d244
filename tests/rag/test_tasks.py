"""The ingestion task: hostile files end as failed with a reason, and attempts are bounded."""

import pytest

from rag.models import Document
from rag.tasks import ingest_document
from tests.rag.factories import document_upload
from tests.rag.files import slow_pdf_bytes

pytestmark = pytest.mark.django_db


def test_a_parser_that_hangs_marks_the_document_failed(user, settings):
    document = document_upload(user=user, name="slow.pdf", content=slow_pdf_bytes())
    settings.RAG_EXTRACT_TIMEOUT_SECONDS = 0.05  # the parser needs about a second: it is killed long before
    ingest_document(document.pk)
    document.refresh_from_db()
    assert document.status == "failed" and "took longer than" in document.error
    assert document.attempts == 1 and document.chunk_count == 0


def test_a_parser_that_crashes_marks_the_document_failed(user, settings):
    document = document_upload(user=user, name="crash.pdf", content=slow_pdf_bytes())
    settings.RAG_EXTRACT_MEMORY_MB = 1  # a megabyte more than the parser starts with: reading the file needs two
    ingest_document(document.pk)
    document.refresh_from_db()
    assert document.status == "failed" and "crashed" in document.error


def test_a_document_whose_worker_keeps_dying_is_given_up(user, settings):
    settings.RAG_INGEST_MAX_ATTEMPTS = 2
    document = document_upload(user=user, name="a.txt", content="words")
    Document.objects.filter(pk=document.pk).update(status="processing", attempts=2)  # two runs died mid-way
    ingest_document(document.pk)
    document.refresh_from_db()
    assert document.status == "failed" and "gave up after 2 attempts" in document.error
    assert document.attempts == 3


def test_a_deleted_or_finished_document_is_left_alone(user):
    ingest_document(999_999)
    document = document_upload(user=user, name="a.txt", content="words")
    Document.objects.filter(pk=document.pk).update(status="ready")
    ingest_document(document.pk)
    document.refresh_from_db()
    assert document.status == "ready" and document.attempts == 0
