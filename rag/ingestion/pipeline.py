"""The ingestion pipeline: extract -> chunk -> embed -> store -> index, one stage per module.

`ingest_documents` takes several documents so that a bulk load (rag_eval) embeds in full batches and
publishes the index once, not once per file. A document that fails is marked failed alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from rag.conf import int_setting
from rag.errors import DocumentUnreadable
from rag.ingestion.chunk import ChunkDraft, Chunker, search_text
from rag.ingestion.embed import Embedder, embed_cached, get_embedder, text_hash
from rag.ingestion.extract import extract
from rag.ingestion.index import IndexSnapshot, index_sync
from rag.ingestion.progress import Progress
from rag.models import Chunk, Document

TITLE_PREFIX_TOKENS = 32  # at most this much of the title is prepended to each chunk before embedding


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
    """Ingest the documents, publish the index, mark them ready. Returns the published index, if any."""
    embedder = get_embedder()
    chunker = chunker_for(embedder)
    progress = Progress([document.pk for document in documents])
    progress.stage("extract")
    prepared = []
    for document in documents:
        try:
            prepared.append(_prepare(document, embedder=embedder, chunker=chunker))
        except DocumentUnreadable as exc:
            document_fail(document=document, reason=exc.detail)
    if not prepared:
        return None
    progress = Progress([item.document.pk for item in prepared])
    progress.stage("embed")
    inputs = [text for item in prepared for text in item.inputs]
    vectors = iter(embed_cached(embedder, inputs, on_batch=progress.update))
    for item in prepared:
        _store(item, [next(vectors) for _ in item.inputs], model_key=embedder.model_key)
    progress.stage("index")
    snapshot = index_sync(embedder.model_key)
    Document.objects.filter(pk__in=progress.document_ids).update(
        status=Document.Status.READY, stage="", progress=100, error="", ingested_at=timezone.now()
    )
    return snapshot


def _prepare(document: Document, *, embedder: Embedder, chunker: Chunker) -> _Prepared:
    extracted = extract(Path(document.file.path), document.kind)
    if not any(block.text.strip() for block in extracted.blocks):
        raise DocumentUnreadable("No text could be extracted from this document (is it a scan?).")
    title = _title_prefix(document.title, embedder)
    reserved = embedder.count([title])[0] + 2 if title else 0
    drafts = chunker.split(extracted.blocks, reserved_tokens=reserved)
    inputs = [search_text(title=title, text=draft.text) for draft in drafts]
    return _Prepared(document, drafts, inputs, extracted.page_count)


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
        Chunk.objects.filter(document=item.document).delete()
        Chunk.objects.bulk_create(chunks, batch_size=500)
        Document.objects.filter(pk=item.document.pk).update(chunk_count=len(chunks), page_count=item.page_count)


def _title_prefix(title: str, embedder: Embedder) -> str:
    pieces = embedder.split(title, TITLE_PREFIX_TOKENS) if title.strip() else []
    return pieces[0] if pieces else ""


def document_fail(*, document: Document, reason: str) -> None:
    """Failed documents keep no chunks: the next index sync drops their vectors."""
    with transaction.atomic():
        Chunk.objects.filter(document=document).delete()
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.FAILED, stage="", error=reason[:2000], chunk_count=0
        )
