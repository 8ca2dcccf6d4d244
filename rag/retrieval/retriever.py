"""The retriever the chat and the search API call. Owner scope is a required argument that no caller can
widen: a user's chunks come only from their own ready documents and shared ones; `document_ids` only narrows.

Dense (FAISS) and lexical (BM25) rankings are fused with reciprocal rank fusion; each can be switched off in
settings. The model and the indexes are loaded once per process; a newer index version is picked up by
`current_snapshot`, never rebuilt here.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.conf import bool_setting, int_setting
from rag.ingestion.embed import get_embedder
from rag.ingestion.index import IndexSnapshot, current_snapshot
from rag.models import Chunk
from rag.retrieval.bm25 import bm25_search
from rag.retrieval.dense import dense_search
from rag.retrieval.fusion import reciprocal_rank_fusion
from rag.retrieval.query import build_retrieval_query
from rag.selectors import document_ids_searchable
from realtime_chat.accounts.models import User


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
    allowed = document_ids_searchable(user=user)
    if document_ids is not None:
        allowed = sorted(set(allowed) & set(document_ids))  # narrows, never widens
    text = build_retrieval_query(query, history)
    if not allowed or not text:
        return []
    return search_chunks(document_ids=np.array(allowed, dtype=np.int64), query=text, top_k=top_k)


def search_chunks(*, document_ids: np.ndarray, query: str, top_k: int) -> list[RetrievedChunk]:
    """Fused search restricted to `document_ids`. Not scoped to a user: call `retrieve_for_user` instead."""
    embedder = get_embedder()
    snapshot = current_snapshot(embedder.model_key)
    if snapshot is None or snapshot.count == 0:
        return []
    candidates = max(int_setting("RAG_CANDIDATES"), top_k)
    rankings = []
    if bool_setting("RAG_DENSE_ENABLED"):
        rankings.append(_dense_ranking(snapshot, query, document_ids, candidates))
    if bool_setting("RAG_BM25_ENABLED"):
        rankings.append(_bm25_ranking(snapshot, query, document_ids, candidates))
    fused = reciprocal_rank_fusion(rankings, k=int_setting("RAG_RRF_K"))[:top_k]
    return _load_chunks(fused, allowed=set(document_ids.tolist()))


def _dense_ranking(snapshot: IndexSnapshot, query: str, document_ids: np.ndarray, k: int) -> list[int]:
    if snapshot.dense is None:
        return []
    positions = snapshot.dense_positions
    found, _ = dense_search(
        snapshot.dense,
        _query_vector(snapshot.model_key, query),
        mask=positions.mask(document_ids),
        k=k,
        ef_search=int_setting("RAG_HNSW_EF_SEARCH"),
    )
    return positions.chunk_ids[found].tolist()


def _bm25_ranking(snapshot: IndexSnapshot, query: str, document_ids: np.ndarray, k: int) -> list[int]:
    if snapshot.bm25 is None:
        return []
    positions = snapshot.bm25_positions
    found, _ = bm25_search(snapshot.bm25, query, mask=positions.mask(document_ids), k=k)
    return positions.chunk_ids[found].tolist()


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
