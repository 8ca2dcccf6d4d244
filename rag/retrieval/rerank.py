"""Optional second stage: a cross-encoder reads (query, passage) pairs and reorders the fused head.

Off by default: it costs a transformer pass per candidate on every query (see the README's figures). Set
RAG_RERANKER_MODEL to a local directory holding a sentence-transformers CrossEncoder (e.g. a copy of
cross-encoder/ms-marco-MiniLM-L-6-v2). No PyPI package ships such weights today, and nothing is ever fetched from a
hub at run time, so the directory has to be provided; RAG_RERANK_CANDIDATES sets how many fused chunks it reads.
"""

import dataclasses
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured

from rag.conf import setting

if TYPE_CHECKING:
    from rag.retrieval.retriever import RetrievedChunk

_load_lock = threading.Lock()


class Reranker(Protocol):
    def scores(self, query: str, passages: list[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local directory, on the CPU."""

    def __init__(self, path: Path) -> None:
        from sentence_transformers import CrossEncoder

        if not (path / "config.json").is_file():
            raise ImproperlyConfigured(f"RAG_RERANKER_MODEL={str(path)!r} is not a directory holding a model")
        self.model = CrossEncoder(str(path), device="cpu")

    def scores(self, query: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        return [float(s) for s in self.model.predict([(query, p) for p in passages], show_progress_bar=False)]


def reranker_enabled() -> bool:
    return bool(str(setting("RAG_RERANKER_MODEL")).strip())


def get_reranker() -> Reranker:
    with _load_lock:
        return _reranker(str(setting("RAG_RERANKER_MODEL")).strip())


@lru_cache(maxsize=1)
def _reranker(path: str) -> Reranker:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return CrossEncoderReranker(Path(path))


def rerank(query: str, chunks: "list[RetrievedChunk]") -> "list[RetrievedChunk]":
    """`chunks` reordered by the cross-encoder's score of (query, title + text), which becomes their score."""
    scores = get_reranker().scores(query, [f"{c.document_title}\n\n{c.text}".strip() for c in chunks])
    scored = [dataclasses.replace(c, score=round(s, 6)) for c, s in zip(chunks, scores, strict=True)]
    return sorted(scored, key=lambda chunk: chunk.score, reverse=True)
