"""Periodic housekeeping of documents (scheduled in rag/jobs.py): stuck ingestions, lost tasks and stray files.

Each is safe to run twice and works in bounded batches.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import F
from django.utils import timezone

from rag.ingestion.pipeline import document_fail
from rag.models import Document
from rag.services import document_ingest_queue

logger = logging.getLogger(__name__)
BATCH = 500
UPLOAD_GRACE_SECONDS = 3600  # a file younger than this may belong to an upload whose row is not committed yet


def documents_retry_stuck() -> str:
    """Documents left in `processing` past the timeout (a worker died) are queued again; ingestion counts its
    attempts and fails the document for good after RAG_INGEST_MAX_ATTEMPTS."""
    cutoff = timezone.now() - timedelta(minutes=settings.RAG_PROCESSING_TIMEOUT_MINUTES)
    stuck = list(Document.objects.filter(status=Document.Status.PROCESSING, updated_at__lt=cutoff)[:BATCH])
    for document in stuck:
        if document.attempts >= settings.RAG_INGEST_MAX_ATTEMPTS:
            document_fail(document=document, reason=f"Processing timed out after {document.attempts} attempts.")
        else:
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.PENDING, stage=Document.Stage.QUEUED, eta_seconds=None, updated_at=timezone.now()
            )
            document_ingest_queue(document=document)
    return f"{len(stuck)} stuck document(s) retried or failed"


def documents_requeue_pending() -> str:
    """Documents still `pending` RAG_PENDING_TIMEOUT_MINUTES after they were queued lost their task (a broker that
    restarted without its queue, a task dropped after its retries) and would wait forever: they are queued again.
    The task never ran to count an attempt, so each re-queue counts as one: a document whose task keeps vanishing
    is failed after RAG_INGEST_MAX_ATTEMPTS instead of being queued every few minutes for ever."""
    cutoff = timezone.now() - timedelta(minutes=settings.RAG_PENDING_TIMEOUT_MINUTES)
    lost = list(Document.objects.filter(status=Document.Status.PENDING, updated_at__lt=cutoff)[:BATCH])
    for document in lost:
        if document.attempts >= settings.RAG_INGEST_MAX_ATTEMPTS:
            reason = f"Its ingestion was queued {document.attempts} times and never started. Try reindexing."
            document_fail(document=document, reason=reason)
            continue
        still_pending = Document.objects.filter(pk=document.pk, status=Document.Status.PENDING)
        if still_pending.update(attempts=F("attempts") + 1, updated_at=timezone.now()):  # not started meanwhile
            document_ingest_queue(document=document)
    if lost:
        logger.warning("%d document(s) pending since before %s queued again or failed", len(lost), cutoff)
    return f"{len(lost)} pending document(s) queued again or failed"


@dataclass(frozen=True)
class FileSweep:
    files_removed: int
    documents_failed: int


def document_files_sweep() -> FileSweep:
    """Remove uploaded files no document refers to (on a file system storage: an object store's own lifecycle
    rules do that job there), and fail documents whose file is gone (any storage)."""
    storage = default_storage
    removed = _stray_files_remove(storage) if isinstance(storage, FileSystemStorage) else 0
    failed = 0
    live = Document.objects.exclude(status=Document.Status.FAILED).only("id", "file", "status")
    for document in live.iterator(chunk_size=BATCH):
        if not default_storage.exists(document.file.name):
            document_fail(document=document, reason="The uploaded file is missing from storage. Upload it again.")
            failed += 1
    if removed or failed:
        logger.info("Document file sweep: %d stray file(s) removed, %d document(s) failed", removed, failed)
    return FileSweep(files_removed=removed, documents_failed=failed)


def _stray_files_remove(storage: FileSystemStorage) -> int:
    known = set(Document.objects.values_list("file", flat=True))
    root = Path(storage.location)
    removed = 0
    for path in (root / "documents").rglob("*") if (root / "documents").exists() else []:
        name = path.relative_to(root).as_posix()
        if path.is_file() and name not in known and time.time() - path.stat().st_mtime > UPLOAD_GRACE_SECONDS:
            path.unlink()
            removed += 1
    return removed


def document_files_sweep_task() -> str:
    result = document_files_sweep()
    return f"{result.files_removed} stray file(s) removed, {result.documents_failed} document(s) without a file failed"
