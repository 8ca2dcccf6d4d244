"""Ingestion metrics for /metrics: one record per ingestion job, read back from the document as it ended."""

from rag.models import Document
from realtime_chat.core.metrics import INGESTED_CHUNKS, INGESTION_SECONDS, INGESTIONS


def ingestion_record(*, document_id: int, seconds: float) -> None:
    ended = Document.objects.filter(pk=document_id).values_list("status", "chunk_count").first()
    status, chunks = ended if ended is not None else ("deleted", 0)
    INGESTIONS.labels(status=status).inc()
    INGESTION_SECONDS.observe(seconds)
    if status == Document.Status.READY:
        INGESTED_CHUNKS.inc(chunks)
