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
RUNNING_STAGES = {Document.Stage.EXTRACTING, Document.Stage.CHUNKING, Document.Stage.EMBEDDING, Document.Stage.INDEXING}


def ingest_document(document_id: int) -> None:
    """Ingest one document. Each run counts as an attempt, so a file that kills its worker (and is re-queued by
    django-q) is given up after RAG_INGEST_MAX_ATTEMPTS instead of being retried forever."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.status in (Document.Status.READY, Document.Status.CANCELLED):
            return  # deleted or cancelled meanwhile, or a duplicate delivery
        document.attempts += 1
        if document.attempts > int_setting("RAG_INGEST_MAX_ATTEMPTS"):
            document.save(update_fields=["attempts"])
            document_fail(document=document, reason=f"Ingestion gave up after {document.attempts - 1} attempts.")
            return
        document.runs += 1  # this run owns the document until it is cancelled or run again
        document.status, document.stage = Document.Status.PROCESSING, Document.Stage.EXTRACTING
        document.error, document.eta_seconds = "", None
        document.save(update_fields=["attempts", "runs", "status", "stage", "error", "eta_seconds", "updated_at"])
    started = time.perf_counter()
    try:
        ingest_documents([document])
    except Exception as exc:
        logger.exception("Ingestion of document %s failed", document_id)
        stage = Document.objects.filter(pk=document_id).values_list("stage", flat=True).first()
        stage = stage if stage in RUNNING_STAGES else "starting"
        reason = f"Ingestion failed while {stage} because of an internal error ({type(exc).__name__}). Try again."
        document_fail(document=document, reason=reason)
        raise
    finally:
        ingestion_record(document_id=document_id, seconds=time.perf_counter() - started)


def index_sync(model_key: str) -> None:
    """Kept for tasks queued before indexes followed the database by themselves: refreshes this worker's copy."""
    index_refresh(model_key)
