"""Lexical retrieval with bm25s. The same tokenizer (lower-case words, English stop words, Snowball stems)
builds the index at ingestion and reads queries, so their vocabularies agree."""

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import bm25s
import numpy as np

if TYPE_CHECKING:
    import Stemmer  # no type hints: `Any` to mypy


@lru_cache(maxsize=1)
def _stemmer() -> "Stemmer.Stemmer":
    import Stemmer

    return Stemmer.Stemmer("english")


def bm25_build(texts: Sequence[str]) -> bm25s.BM25:
    tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)
    index = bm25s.BM25()
    index.index(tokens, show_progress=False)
    return index


def bm25_search(index: bm25s.BM25, query: str, *, mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and scores of the best `k` allowed entries with a positive score, best first."""
    tokens = bm25s.tokenize(query, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)[0]
    token_ids = index.get_tokens_ids(tokens)
    if not token_ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scores = index.get_scores_from_ids(token_ids, weight_mask=None if mask is None else mask.astype(np.float32))
    return top_k(scores, k)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    return order.astype(np.int64), scores[order].astype(np.float32)
