"""The ingestion pipeline: extract -> chunk -> embed -> store -> index, one stage per module.

`ingest_documents` takes several documents so that a bulk load (rag_eval) embeds in full batches and
publishes the index once, not once per file. A document that fails is marked failed alone.
"""

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone

from rag.conf import int_setting
from rag.errors import DocumentUnreadable
from rag.ingestion.chunk import ChunkDraft, Chunker, search_text
from rag.ingestion.embed import Embedder, embed_cached, get_embedder, text_hash
from rag.ingestion.extract import extract
from rag.ingestion.index import IndexSnapshot, index_changes_record, index_refresh
from rag.ingestion.progress import IngestionCancelled, Progress
from rag.models import Chunk, Document

TITLE_PREFIX_TOKENS = 32  # at most this much of the title is prepended to each chunk before embedding
EXTRACT_WORKERS = 2  # parser processes at once, ahead of the embedding
EMBED_RUN = 256  # chunks embedded together: long enough to sort by length and fill batches


@dataclass(frozen=True)
class _Prepared:
    document: Document
    drafts: list[ChunkDraft]
    inputs: list[str]  # what is embedded: title prefix + chunk text
    page_count: int | None


def chunker_for(embedder: Embedder) -> Chunker:
    chunk_tokens = min(int_setting("RAG_CHUNK_TOKENS"), embedder.max_tokens)
    overlap_tokens = int_setting("RAG_CHUNK_OVERLAP_TOKENS")
    return Chunker(tokenizer=embedder, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens)


def ingest_documents(documents: Sequence[Document]) -> IndexSnapshot | None:
    """Ingest the documents, publish the index, mark them ready. Returns the published index, if any.

    Parsers run in child processes, EXTRACT_WORKERS at a time, ahead of the embedding: while one run of chunks is
    embedded here, the next documents are being extracted and chunked. Between batches the run checks that its
    documents are still its own: a cancelled one is dropped, and no chunk of it is stored."""
    embedder = get_embedder()
    chunker = chunker_for(embedder)
    progress = Progress(documents)
    progress.stage(Document.Stage.EXTRACTING)
    stored: list[Document] = []
    pending: list[_Prepared] = []
    pool = ThreadPoolExecutor(max_workers=EXTRACT_WORKERS, thread_name_prefix="rag-extract")
    try:
        futures = [
            pool.submit(_prepare, document, embedder=embedder, chunker=chunker, progress=progress)
            for document in documents
        ]
        for document, future in zip(documents, futures, strict=True):
            if pending and not future.done():  # the parsers are behind: embed what is ready instead of waiting
                stored += _embed_and_store(pending, embedder=embedder, progress=progress)
                pending = []
            try:
                item = _prepared(future, document=document, progress=progress)
            except DocumentUnreadable as exc:
                document_fail(document=document, reason=exc.detail)
                progress.drop(document.pk)
                continue
            except IngestionCancelled:
                continue
            pending.append(item)
            if sum(len(item.inputs) for item in pending) >= EMBED_RUN:
                stored += _embed_and_store(pending, embedder=embedder, progress=progress)
                pending = []
        stored += _embed_and_store(pending, embedder=embedder, progress=progress)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a cancelled run does not wait for its parsers
    if not stored:
        return None
    progress.stage(Document.Stage.INDEXING)
    snapshot = index_refresh(embedder.model_key)  # this process at once; the others within the check interval
    now = timezone.now()
    with transaction.atomic():  # under the rows' locks: a cancel either comes first (and is kept) or finds it ready
        ready = list(Document.objects.select_for_update().filter(progress.owned_q()).values_list("pk", flat=True))
        Document.objects.filter(pk__in=ready).update(
            status=Document.Status.READY,
            stage=Document.Stage.DONE,
            progress=100,
            eta_seconds=None,
            error="",
            ingested_at=now,
            updated_at=now,
        )
    return snapshot


def _prepared(future: Future[_Prepared], *, document: Document, progress: Progress) -> _Prepared:
    """The document's chunks once its parser is done, checking for a cancel while waiting for it."""
    while True:
        try:
            item = future.result(timeout=max(progress.min_interval, 0.05))
        except FutureTimeout:
            progress.checkpoint([document.pk])
            continue
        progress.advance()
        return item


def _embed_and_store(items: list[_Prepared], *, embedder: Embedder, progress: Progress) -> list[Document]:
    if not items:
        return []
    progress.stage(Document.Stage.EMBEDDING)
    ids = [item.document.pk for item in items]
    inputs = [text for item in items for text in item.inputs]

    def on_batch(done: int, total: int) -> None:
        progress.checkpoint(ids)
        progress.embedded(0, of_batch=done / max(total, 1), batch_documents=len(items))

    try:
        vectors = iter(embed_cached(embedder, inputs, on_batch=on_batch))
    except IngestionCancelled:
        return []
    stored = []
    for item in items:
        item_vectors = [next(vectors) for _ in item.inputs]
        if _store(item, item_vectors, model_key=embedder.model_key, progress=progress):
            stored.append(item.document)
    progress.embedded(len(items))
    return stored


def _prepare(document: Document, *, embedder: Embedder, chunker: Chunker, progress: Progress) -> _Prepared:
    with _local_copy(document) as path:
        extracted = extract(path, document.kind)
    if not any(block.text.strip() for block in extracted.blocks):
        raise DocumentUnreadable("No text could be extracted from this document (is it a scan?).")
    progress.note(Document.Stage.CHUNKING)
    title = _title_prefix(document.title, embedder)
    reserved = embedder.count([title])[0] + 2 if title else 0
    drafts = chunker.split(extracted.blocks, reserved_tokens=reserved)
    inputs = [search_text(title=title, text=draft.text) for draft in drafts]
    return _Prepared(document, drafts, inputs, extracted.page_count)


@contextmanager
def _local_copy(document: Document) -> Iterator[Path]:
    """A local path to the uploaded file for the parser process. Files may live in any Django storage (S3 through
    django-storages): a storage without local paths is copied to a temporary file first."""
    if not document.file.storage.exists(document.file.name):
        raise DocumentUnreadable("The uploaded file is missing from storage. Upload it again.")
    if isinstance(document.file.storage, FileSystemStorage):
        yield Path(document.file.path)
        return
    with tempfile.NamedTemporaryFile(suffix=f".{document.kind}") as local, document.file.open("rb") as stored:
        shutil.copyfileobj(stored, local, 1 << 20)
        local.flush()
        yield Path(local.name)


def _store(item: _Prepared, vectors: list, *, model_key: str, progress: Progress) -> bool:
    """Replace the document's chunks, unless the run no longer owns it (then store nothing and say so)."""
    chunks = [
        Chunk(
            document=item.document,
            position=draft.position,
            page=draft.page,
            heading=draft.heading,
            text=draft.text,
            token_count=draft.token_count,
            embedding_model=model_key,
            text_hash=text_hash(text),
            vector=vector.tobytes(),
        )
        for draft, text, vector in zip(item.drafts, item.inputs, vectors, strict=True)
    ]
    with transaction.atomic():
        # The row's lock orders this against a cancel: it either waits for these chunks (and removes them) or is
        # seen here, before anything is written.
        if not Document.objects.select_for_update().filter(progress.owned_q([item.document.pk])).exists():
            return False
        previous = set(Chunk.objects.filter(document=item.document).values_list("embedding_model", flat=True))
        Chunk.objects.filter(document=item.document).delete()
        Chunk.objects.bulk_create(chunks, batch_size=500)
        index_changes_record(model_keys={model_key, *previous}, document_ids=[item.document.pk])
        Document.objects.filter(pk=item.document.pk).update(chunk_count=len(chunks), page_count=item.page_count)
    return True


def _title_prefix(title: str, embedder: Embedder) -> str:
    pieces = embedder.split(title, TITLE_PREFIX_TOKENS) if title.strip() else []
    return pieces[0] if pieces else ""


def document_fail(*, document: Document, reason: str) -> None:
    """Failed documents keep no chunks: the next index sync drops their vectors. A document cancelled, or queued
    again since `document` was read (its `runs` moved on), is left as it is."""
    with transaction.atomic():
        current = Document.objects.select_for_update().filter(pk=document.pk, runs=document.runs)
        if not current.exclude(status=Document.Status.CANCELLED).exists():
            return
        document_chunks_drop(document=document)
        current.update(
            status=Document.Status.FAILED,
            stage=Document.Stage.FAILED,
            eta_seconds=None,
            error=reason[:2000],
            updated_at=timezone.now(),
        )


def document_chunks_drop(*, document: Document) -> None:
    """Delete the document's chunks and log it for every process's index. Call inside the transaction that holds
    the document's row lock."""
    model_keys = set(Chunk.objects.filter(document=document).values_list("embedding_model", flat=True))
    Chunk.objects.filter(document=document).delete()
    index_changes_record(model_keys=model_keys, document_ids=[document.pk])
    Document.objects.filter(pk=document.pk).update(chunk_count=0)
