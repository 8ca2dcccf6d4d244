"""Dense retrieval over a FAISS index, restricted to the positions the caller may see.

Exact indexes are searched as one matrix-vector product over the index's own storage, masked. HNSW is
searched with an ID selector, except when few positions are allowed: then the allowed vectors are scored
exactly, because a graph walk that may visit only a few per cent of its nodes degrades and can miss results.
"""

import faiss
import numpy as np

HNSW_EXACT_BELOW = 0.05  # allowed fraction under which HNSW falls back to exact search over the allowed subset


def stored_vectors(index: faiss.Index) -> np.ndarray:
    """A zero-copy (n, d) view of the vectors held by an IndexFlat or IndexHNSWFlat."""
    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    if not isinstance(storage, faiss.IndexFlat):
        raise TypeError(f"cannot read the vectors of a {type(storage).__name__}")
    return faiss.rev_swig_ptr(storage.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)


def dense_search(
    index: faiss.Index, query: np.ndarray, *, mask: np.ndarray | None, k: int, ef_search: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and inner-product scores of the best `k` allowed vectors, best first."""
    if index.ntotal == 0 or k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    allowed = int(mask.sum()) if mask is not None else index.ntotal
    if allowed == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    if isinstance(index, faiss.IndexHNSW) and allowed >= HNSW_EXACT_BELOW * index.ntotal:
        params = faiss.SearchParametersHNSW(efSearch=max(ef_search, k))  # type: ignore[attr-defined]  # not in faiss's stubs
        if mask is not None and allowed < index.ntotal:
            bitmap = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(index.ntotal, faiss.swig_ptr(bitmap))
        scores, positions = index.search(query, k, params=params)
        keep = positions[0] >= 0
        return positions[0][keep].astype(np.int64), scores[0][keep]
    vectors = stored_vectors(index)
    if mask is None or allowed == index.ntotal:
        return _best(vectors @ query[0], np.arange(index.ntotal), k)
    subset = np.flatnonzero(mask)
    if len(subset) < index.ntotal // 4:
        return _best(vectors[subset] @ query[0], subset, k)
    scores = vectors @ query[0]
    return _best(scores[subset], subset, k)


def _best(scores: np.ndarray, positions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) > k:
        top = np.argpartition(-scores, k - 1)[:k]
        scores, positions = scores[top], positions[top]
    order = np.argsort(-scores, kind="stable")
    return positions[order].astype(np.int64), scores[order].astype(np.float32)
