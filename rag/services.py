"""Document writes: upload (checked before anything is stored), delete, reindex, cancel and retry."""

import hashlib
import re
import tempfile
import unicodedata
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from rag.conf import int_setting
from rag.errors import (
    DocumentBusy,
    DocumentEmpty,
    DocumentTooLarge,
    DocumentUnreadable,
    DuplicateDocument,
    IngestionNotRetryable,
    IngestionNotRunning,
)
from rag.ingestion.extract import check_docx_container, detect_kind, extract
from rag.ingestion.index import index_changes_record
from rag.ingestion.pipeline import document_chunks_drop
from rag.models import Document
from rag.quota import document_quota_check
from realtime_chat.accounts.models import User
from realtime_chat.core.errors import PermissionDenied

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def display_name(name: str) -> str:
    """The client's file name reduced to something safe to show: no path, no control characters, bounded."""
    name = unicodedata.normalize("NFC", name or "")
    name = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:190]}.{suffix[:9]}" if dot and len(suffix) <= 10 else name[:200]
    return name or "document"


def document_create(
    *, user: User, upload: UploadedFile, title: str = "", scope: str = Document.Scope.PRIVATE
) -> Document:
    """Check the upload, store it under a generated name and queue its ingestion (after commit)."""
    document = document_store(user=user, upload=upload, title=title, scope=scope)
    document_ingest_queue(document=document)
    return document


def document_store(
    *, user: User, upload: UploadedFile, title: str = "", scope: str = Document.Scope.PRIVATE
) -> Document:
    """Check the upload and store it as a pending document, without queueing (bulk loads ingest in batches)."""
    if scope == Document.Scope.SHARED and not user.is_staff:
        raise PermissionDenied("Only staff can share documents with everyone.")
    size = upload.size or 0
    if size == 0:
        raise DocumentEmpty("The file is empty.")
    limit = int_setting("RAG_MAX_UPLOAD_BYTES")
    if size > limit:
        raise DocumentTooLarge(f"The file is {size} bytes; the limit is {limit} bytes.")
    document_quota_check(user=user, size=size)
    name = display_name(upload.name or "")
    upload.seek(0)
    kind = detect_kind(head=upload.read(8192), name=name)
    digest = _sha256(upload)
    if Document.objects.filter(owner=user, sha256=digest).exists():
        raise DuplicateDocument("You already uploaded this file.", extra=_existing(user, digest))
    _probe(upload, kind)
    document = Document(
        owner=user,
        title=(title.strip() or Path(name).stem)[:300],
        original_name=name,
        kind=kind,
        size_bytes=size,
        sha256=digest,
        scope=scope,
    )
    upload.seek(0)
    document.file.save(f"upload.{kind}", upload, save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError as exc:  # the same file uploaded twice at once
        document.file.delete(save=False)
        raise DuplicateDocument("You already uploaded this file.", extra=_existing(user, digest)) from exc
    return document


def _existing(user: User, digest: str) -> dict:
    return {"document_id": Document.objects.filter(owner=user, sha256=digest).values_list("id", flat=True).first()}


def _sha256(upload: UploadedFile) -> str:
    upload.seek(0)
    digest = hashlib.sha256()
    for part in upload.chunks():
        digest.update(part)
    return digest.hexdigest()


def _probe(upload: UploadedFile, kind: str) -> None:
    """Refuse what can be known to fail before it is stored: zip bombs, encrypted or corrupt PDFs, no text."""
    with tempfile.NamedTemporaryFile(suffix=f".{kind}") as handle:
        upload.seek(0)
        for part in upload.chunks():
            handle.write(part)
        handle.flush()
        path = Path(handle.name)
        if kind == Document.Kind.DOCX:
            check_docx_container(path)
        extracted = extract(path, kind, probe=True)
    if not any(block.text.strip() for block in extracted.blocks):
        raise DocumentUnreadable("No text could be extracted from this document (is it a scan?).")


def document_ingest_queue(*, document: Document) -> None:
    transaction.on_commit(
        lambda: async_task("rag.tasks.ingest_document", document.pk, task_name=f"ingest-document-{document.pk}")
    )


@transaction.atomic
def document_reindex(*, document: Document) -> Document:
    """Ingest a document again (a ready one after a model change, a failed or cancelled one)."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.status in (Document.Status.PENDING, Document.Status.PROCESSING):
        raise DocumentBusy("This document is already being ingested.")
    return _requeue(document)


@transaction.atomic
def document_retry(*, document: Document) -> Document:
    """Queue a failed or cancelled ingestion again, with its attempts counted afresh."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.status not in (Document.Status.FAILED, Document.Status.CANCELLED):
        raise IngestionNotRetryable(
            f"Only a failed or cancelled ingestion can be retried; this one is {document.status}."
        )
    return _requeue(document)


def _requeue(document: Document) -> Document:
    document.status, document.stage, document.progress = Document.Status.PENDING, Document.Stage.QUEUED, 0
    document.error, document.attempts, document.eta_seconds = "", 0, None
    document.save(update_fields=["status", "stage", "progress", "error", "attempts", "eta_seconds", "updated_at"])
    document_ingest_queue(document=document)
    return document


@transaction.atomic
def document_cancel(*, document: Document) -> Document:
    """Stop a queued or running ingestion. Under the row's lock, so a running ingestion either stores its chunks
    before (and they are dropped here) or sees the cancel and stores none; it stops at its next checkpoint."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.status not in (Document.Status.PENDING, Document.Status.PROCESSING):
        raise IngestionNotRunning(
            f"Only a queued or running ingestion can be cancelled; this one is {document.status}."
        )
    document_chunks_drop(document=document)
    document.status, document.stage, document.eta_seconds = Document.Status.CANCELLED, Document.Stage.CANCELLED, None
    document.chunk_count, document.error = 0, ""
    document.save(update_fields=["status", "stage", "eta_seconds", "chunk_count", "error", "updated_at"])
    return document


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete the row (its chunks cascade), log the change for every process's indexes and, after commit, delete
    the file. Retrieval stops returning it at once: only existing ready documents are searched."""
    model_keys = set(document.chunks.values_list("embedding_model", flat=True))
    file, document_id = document.file, document.pk
    document.delete()
    index_changes_record(model_keys=model_keys, document_ids=[document_id])
    transaction.on_commit(lambda: file.delete(save=False))
