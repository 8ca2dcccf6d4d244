"""django-q2 tasks: interfaces to the ingestion pipeline, nothing more."""

import logging
import time

from django.db import transaction

from rag.conf import int_setting
from rag.ingestion.index import index_refresh
from rag.ingestion.pipeline import document_fail, ingest_documents
from rag.metrics import ingestion_record
from rag.models import Document

logger = logging.getLogger(__name__)


def ingest_document(document_id: int) -> None:
    """Ingest one document. Each run counts as an attempt, so a file that kills its worker (and is re-queued by
    django-q) is given up after RAG_INGEST_MAX_ATTEMPTS instead of being retried forever."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.status == Document.Status.READY:
            return  # deleted meanwhile, or a duplicate delivery
        document.attempts += 1
        if document.attempts > int_setting("RAG_INGEST_MAX_ATTEMPTS"):
            document.save(update_fields=["attempts"])
            document_fail(document=document, reason=f"Ingestion gave up after {document.attempts - 1} attempts.")
            return
        document.status, document.error = Document.Status.PROCESSING, ""
        document.save(update_fields=["attempts", "status", "error", "updated_at"])
    started = time.perf_counter()
    try:
        ingest_documents([document])
    except Exception:
        logger.exception("Ingestion of document %s failed", document_id)
        document_fail(document=document, reason="Ingestion failed because of an internal error. Try reindexing.")
        raise
    finally:
        ingestion_record(document_id=document_id, seconds=time.perf_counter() - started)


def index_sync(model_key: str) -> None:
    """Kept for tasks queued before indexes followed the database by themselves: refreshes this worker's copy."""
    index_refresh(model_key)
