"""The retriever the chat and the search API call. Owner scope is a required argument that no caller can
widen: a user's chunks come only from their own ready documents and shared ones; `document_ids` only narrows.

Dense (FAISS) and lexical (BM25) rankings are fused (a convex combination of normalised scores, or reciprocal
rank fusion); each can be switched off in settings, and an optional cross-encoder reranks the fused head. The
model is loaded once per process; the indexes follow the database through `current_snapshot`.
"""

import os
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.conf import bool_setting, float_setting, int_setting, setting
from rag.ingestion.embed import get_embedder
from rag.ingestion.index import DenseIndex, IndexSnapshot, current_snapshot
from rag.models import Chunk
from rag.retrieval.bm25 import Bm25Index, bm25_search
from rag.retrieval.dense import dense_search
from rag.retrieval.fusion import convex_combination, reciprocal_rank_fusion
from rag.retrieval.query import build_retrieval_query
from rag.retrieval.rerank import rerank, reranker_enabled
from rag.selectors import document_ids_searchable
from realtime_chat.accounts.models import User

_QUERY_POOL = ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0)), thread_name_prefix="rag-query")


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: int
    document_id: int
    document_title: str
    page: int | None
    text: str
    score: float
    heading: str = ""
    position: int = 0


def retrieve_for_user(
    *,
    user: User,
    query: str,
    top_k: int = 4,
    history: Sequence[str] = (),
    document_ids: Collection[int] | None = None,
) -> list[RetrievedChunk]:
    """The `top_k` best chunks `user` may see for `query` (joined with the last turn of `history` if it is a
    follow-up), best first. Synchronous: async callers wrap it in `sync_to_async`."""
    if top_k <= 0:
        raise ValueError("top_k must be greater than 0")
    text = build_retrieval_query(query, history)
    if not text:
        return []
    vector = _query_vector_soon(text)
    try:
        allowed = document_ids_searchable(user=user)
        if document_ids is not None:
            allowed = sorted(set(allowed) & set(document_ids))  # narrows, never widens
        if not allowed:
            return []
        return search_chunks(
            document_ids=np.array(allowed, dtype=np.int64), query=text, top_k=top_k, query_vector=vector
        )
    finally:
        if vector is not None:
            vector.cancel()  # not needed after all (no document, nothing indexed): not encoded if not started yet


def search_chunks(
    *, document_ids: np.ndarray, query: str, top_k: int, query_vector: "Future[np.ndarray] | None" = None
) -> list[RetrievedChunk]:
    """Fused search restricted to `document_ids`. Not scoped to a user: call `retrieve_for_user` instead.
    `query_vector`: the query's vector being encoded meanwhile (else it is encoded here)."""
    embedder = get_embedder()
    snapshot = current_snapshot(embedder.model_key)
    if snapshot.count == 0:
        return []
    candidates = max(int_setting("RAG_CANDIDATES"), top_k)
    mask = snapshot.positions.mask(document_ids)
    dense_weight = float_setting("RAG_FUSION_DENSE_WEIGHT")
    rankings: list[tuple[list[int], list[float], float]] = []
    lexical = None  # searched first: the query's vector may still be being encoded on another core
    if bool_setting("RAG_BM25_ENABLED") and snapshot.bm25 is not None:
        lexical = (*_bm25_ranking(snapshot.bm25, snapshot, query, mask, candidates), 1.0 - dense_weight)
    if bool_setting("RAG_DENSE_ENABLED") and snapshot.dense is not None:
        vector = query_vector.result() if query_vector is not None else _query_vector(snapshot.model_key, query)
        rankings.append((*_dense_ranking(snapshot.dense, snapshot, vector, mask, candidates), dense_weight))
    if lexical is not None:
        rankings.append(lexical)
    fused = _fuse(rankings)
    allowed = set(document_ids.tolist())
    if not reranker_enabled():
        return _load_chunks(fused[:top_k], allowed=allowed)
    pool = _load_chunks(fused[: max(int_setting("RAG_RERANK_CANDIDATES"), top_k)], allowed=allowed)
    return rerank(query, pool)[:top_k]


def _fuse(rankings: list[tuple[list[int], list[float], float]]) -> list[tuple[int, float]]:
    """RAG_FUSION: `convex` (weighted, normalised scores; the default) or `rrf` (ranks only)."""
    if str(setting("RAG_FUSION")) == "rrf":
        return reciprocal_rank_fusion([ids for ids, _, _ in rankings], k=int_setting("RAG_RRF_K"))
    return convex_combination(rankings)


def _dense_ranking(
    index: DenseIndex, snapshot: IndexSnapshot, vector: np.ndarray, mask: np.ndarray, k: int
) -> tuple[list[int], list[float]]:
    found, scores = dense_search(
        index,
        vector,
        mask=mask,
        k=k,
        ef_search=int_setting("RAG_HNSW_EF_SEARCH"),
    )
    return snapshot.positions.chunk_ids[found].tolist(), scores.tolist()


def _bm25_ranking(
    index: Bm25Index, snapshot: IndexSnapshot, query: str, mask: np.ndarray, k: int
) -> tuple[list[int], list[float]]:
    found, scores = bm25_search(index, query, mask=mask, k=k)
    return snapshot.positions.chunk_ids[found].tolist(), scores.tolist()


def _query_vector_soon(query: str) -> "Future[np.ndarray] | None":
    """The query's vector, encoded on the query pool while the caller reads the user's scope and searches BM25:
    on a second core, the encoding (a few ms, ONNX Runtime releases the interpreter) costs no wait of its own."""
    if not bool_setting("RAG_DENSE_ENABLED"):
        return None
    return _QUERY_POOL.submit(_query_vector, get_embedder().model_key, query)


@lru_cache(maxsize=512)
def _query_vector(model_key: str, query: str) -> np.ndarray:
    """Recent queries are not encoded twice (a chat turn and its retry, the same question asked again)."""
    vector = get_embedder().encode_query(query)
    vector.setflags(write=False)  # shared between callers through the cache
    return vector


def _load_chunks(fused: list[tuple[int, float]], *, allowed: set[int]) -> list[RetrievedChunk]:
    if not fused:
        return []
    rows = Chunk.objects.filter(id__in=[chunk_id for chunk_id, _ in fused]).values_list(
        "id", "document_id", "document__title", "page", "text", "heading", "position"
    )
    by_id = {row[0]: row for row in rows}
    return [
        RetrievedChunk(
            chunk_id=chunk_id,
            document_id=row[1],
            document_title=row[2],
            page=row[3],
            text=row[4],
            score=round(score, 6),
            heading=row[5],
            position=row[6],
        )
        for chunk_id, score in fused
        if (row := by_id.get(chunk_id)) is not None and row[1] in allowed  # checked again: the index may lag
    ]
