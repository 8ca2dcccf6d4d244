"""The ingestion pipeline: extract -> chunk -> embed -> store -> index, one stage per module.

`ingest_documents` takes several documents so that a bulk load (rag_eval) embeds in full batches and
publishes the index once, not once per file. A document that fails is marked failed alone.
"""

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from rag.ingestion.progress import Progress
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
    embedded here, the next documents are being extracted and chunked."""
    embedder = get_embedder()
    chunker = chunker_for(embedder)
    progress = Progress([document.pk for document in documents])
    progress.stage("extract")
    stored: list[Document] = []
    pending: list[_Prepared] = []
    with ThreadPoolExecutor(max_workers=EXTRACT_WORKERS, thread_name_prefix="rag-extract") as pool:
        futures = [pool.submit(_prepare, document, embedder=embedder, chunker=chunker) for document in documents]
        for document, future in zip(documents, futures, strict=True):
            try:
                pending.append(future.result())
            except DocumentUnreadable as exc:
                document_fail(document=document, reason=exc.detail)
                progress.document_ids.remove(document.pk)
                continue
            if sum(len(item.inputs) for item in pending) >= EMBED_RUN:
                stored += _embed_and_store(pending, embedder=embedder, progress=progress, total=len(documents))
                pending = []
        stored += _embed_and_store(pending, embedder=embedder, progress=progress, total=len(documents))
    if not stored:
        return None
    progress.stage("index")
    snapshot = index_refresh(embedder.model_key)  # this process at once; the others within the check interval
    Document.objects.filter(pk__in=progress.document_ids).update(
        status=Document.Status.READY, stage="", progress=100, error="", ingested_at=timezone.now()
    )
    return snapshot


def _embed_and_store(items: list[_Prepared], *, embedder: Embedder, progress: Progress, total: int) -> list[Document]:
    if not items:
        return []
    if progress.current != "embed":
        progress.stage("embed")
    inputs = [text for item in items for text in item.inputs]
    vectors = iter(embed_cached(embedder, inputs))
    for item in items:
        _store(item, [next(vectors) for _ in item.inputs], model_key=embedder.model_key)
    progress.done(len(items), total)
    return [item.document for item in items]


def _prepare(document: Document, *, embedder: Embedder, chunker: Chunker) -> _Prepared:
    with _local_copy(document) as path:
        extracted = extract(path, document.kind)
    if not any(block.text.strip() for block in extracted.blocks):
        raise DocumentUnreadable("No text could be extracted from this document (is it a scan?).")
    title = _title_prefix(document.title, embedder)
    reserved = embedder.count([title])[0] + 2 if title else 0
    drafts = chunker.split(extracted.blocks, reserved_tokens=reserved)
    inputs = [search_text(title=title, text=draft.text) for draft in drafts]
    return _Prepared(document, drafts, inputs, extracted.page_count)


@contextmanager
def _local_copy(document: Document) -> Iterator[Path]:
    """A local path to the uploaded file for the parser process. Files may live in any Django storage (S3 through
    django-storages): a storage without local paths is copied to a temporary file first."""
    if isinstance(document.file.storage, FileSystemStorage):
        yield Path(document.file.path)
        return
    with tempfile.NamedTemporaryFile(suffix=f".{document.kind}") as local, document.file.open("rb") as stored:
        shutil.copyfileobj(stored, local, 1 << 20)
        local.flush()
        yield Path(local.name)


def _store(item: _Prepared, vectors: list, *, model_key: str) -> None:
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
        previous = set(Chunk.objects.filter(document=item.document).values_list("embedding_model", flat=True))
        Chunk.objects.filter(document=item.document).delete()
        Chunk.objects.bulk_create(chunks, batch_size=500)
        index_changes_record(model_keys={model_key, *previous}, document_ids=[item.document.pk])
        Document.objects.filter(pk=item.document.pk).update(chunk_count=len(chunks), page_count=item.page_count)


def _title_prefix(title: str, embedder: Embedder) -> str:
    pieces = embedder.split(title, TITLE_PREFIX_TOKENS) if title.strip() else []
    return pieces[0] if pieces else ""


def document_fail(*, document: Document, reason: str) -> None:
    """Failed documents keep no chunks: the next index sync drops their vectors."""
    with transaction.atomic():
        model_keys = set(Chunk.objects.filter(document=document).values_list("embedding_model", flat=True))
        Chunk.objects.filter(document=document).delete()
        index_changes_record(model_keys=model_keys, document_ids=[document.pk])
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED, stage="", error=reason[:2000], chunk_count=0
        )
