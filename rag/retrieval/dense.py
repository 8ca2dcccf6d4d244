"""Dense retrieval over the snapshot's vectors, restricted to the positions the caller may see.

Two layouts. Under RAG_ANN_THRESHOLD vectors, one exact `IndexFlatIP` searched as a masked matrix-vector product.
From the threshold, `BlockDense`: rows are laid out in blocks, one per owner (and one for shared documents), so the
rows a user may see are one or two blocks, not a sprinkling over the whole index. A filtered graph search degrades
when few of its nodes are allowed; here a user's own block is searched unfiltered (all of it is theirs): exactly
with 8-bit codes under RAG_GRAPH_MIN_ROWS rows, with an HNSW graph over 8-bit codes from there. Rows added since the
layout was made (the tail) are scanned exactly. Every candidate is rescored from float16 copies of the vectors, so
the scores and their order are those of an exact search to within float16 rounding.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import faiss
import numpy as np

from rag.retrieval.ranking import top_k_of

FILTERED_GRAPH_MIN = 0.25  # a graph walk where fewer of a block's rows are allowed is replaced by an exact scan
GATHER_BELOW = 256  # allowed rows of a block few enough to be rescored directly (float16 to float32 is slow)
CANDIDATES_FACTOR = 2  # codes propose this many times the wanted candidates; the float16 copies decide


def stored_vectors(index: faiss.Index) -> np.ndarray:
    """A zero-copy (n, d) view of the vectors held by an IndexFlat."""
    if not isinstance(index, faiss.IndexFlat):
        raise TypeError(f"cannot read the vectors of a {type(index).__name__}")
    return faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)


@dataclass(frozen=True)
class Block:
    """A run of rows `[start, start + size)` of one owner (or of shared documents), searched by `index`, whose ids
    are the block's own row numbers. Immutable: snapshots share blocks whose rows did not change."""

    key: int
    start: int
    index: faiss.Index  # IndexScalarQuantizer (exact over 8-bit codes) or IndexHNSWSQ
    vectors: np.ndarray = field(repr=False)  # float16 (size, d): rescoring and re-layouts

    @property
    def size(self) -> int:
        return len(self.vectors)

    @property
    def graph(self) -> bool:
        return isinstance(self.index, faiss.IndexHNSW)

    @property
    def memory_bytes(self) -> int:
        total = self.vectors.nbytes + self.vectors.size  # float16 copies, and a one-byte code a dimension
        if isinstance(self.index, faiss.IndexHNSW):
            total += faiss.vector_to_array(self.index.hnsw.neighbors).nbytes  # type: ignore[attr-defined]
        return int(total)


def block_build(key: int, start: int, vectors: np.ndarray, *, graph_min: int, m: int, ef_construction: int) -> Block:
    """A block over `vectors` (float32 or float16), its codes trained on the block's own rows."""
    dimension = vectors.shape[1]
    full = np.ascontiguousarray(vectors, dtype=np.float32)
    index: faiss.Index
    if len(full) >= graph_min:
        index = faiss.IndexHNSWSQ(
            dimension,
            faiss.ScalarQuantizer.QT_8bit,  # type: ignore[arg-type]  # an enum value, typed as its class in the stubs
            m,
            faiss.METRIC_INNER_PRODUCT,
        )
        index.hnsw.efConstruction = ef_construction
    else:
        index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    index.train(full[:: max(len(full) // 50_000, 1)])
    index.add(full)
    return Block(key, start, index, np.ascontiguousarray(vectors, dtype=np.float16))


@dataclass(frozen=True)
class BlockDense:
    """The large-index layout: blocks of rows, then a tail of rows added since, kept in float32 and scanned."""

    blocks: tuple[Block, ...]
    tail: np.ndarray  # float32 (n, d): rows [tail_start, ntotal)
    dimension: int

    @property
    def tail_start(self) -> int:
        return self.blocks[-1].start + self.blocks[-1].size if self.blocks else 0

    @property
    def ntotal(self) -> int:
        return self.tail_start + len(self.tail)

    @property
    def memory_bytes(self) -> int:
        return sum(block.memory_bytes for block in self.blocks) + int(self.tail.nbytes)

    def with_tail(self, vectors: np.ndarray) -> "BlockDense":
        """The same blocks (shared, not copied) with `vectors` appended to the tail."""
        tail = np.concatenate([self.tail, np.asarray(vectors, dtype=np.float32).reshape(-1, self.dimension)])
        return BlockDense(self.blocks, tail, self.dimension)

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The float32 vectors of rows `positions` (a block's are its float16 copies)."""
        result = np.empty((len(positions), self.dimension), dtype=np.float32)
        starts = np.array([block.start for block in self.blocks] + [self.tail_start], dtype=np.int64)
        owner = np.searchsorted(starts, positions, side="right") - 1
        for number in np.unique(owner):
            chosen = owner == number
            local = positions[chosen] - starts[number]
            source = self.blocks[number].vectors if number < len(self.blocks) else self.tail
            result[chosen] = source[local]
        return result


def dense_search(
    index: "faiss.Index | BlockDense", query: np.ndarray, *, mask: np.ndarray | None, k: int, ef_search: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and inner-product scores of the best `k` allowed vectors, best first."""
    if index.ntotal == 0 or k <= 0:
        return _empty()
    query = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
    if isinstance(index, BlockDense):
        return _block_search(index, query, mask=mask, k=k, ef_search=ef_search)
    vectors = stored_vectors(index)
    if mask is None:
        return top_k_of(vectors @ query, np.arange(index.ntotal), k)
    subset = np.flatnonzero(mask)
    if len(subset) == 0:
        return _empty()
    if len(subset) < index.ntotal // 4:
        return top_k_of(vectors[subset] @ query, subset, k)
    return top_k_of((vectors @ query)[subset], subset, k)


def _block_search(
    dense: BlockDense, query: np.ndarray, *, mask: np.ndarray | None, k: int, ef_search: int
) -> tuple[np.ndarray, np.ndarray]:
    found: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for block in dense.blocks:
        allowed = mask[block.start : block.start + block.size] if mask is not None else None
        rows, row_scores = _search_block(block, query, allowed, k=k, ef_search=ef_search)
        found.append(rows + block.start)
        scores.append(row_scores)
    if len(dense.tail):
        rows = np.arange(len(dense.tail))
        if mask is not None:
            rows = np.flatnonzero(mask[dense.tail_start :])
        tail_rows, tail_scores = top_k_of(dense.tail[rows] @ query, rows, k)
        found.append(tail_rows + dense.tail_start)
        scores.append(tail_scores)
    if not found:
        return _empty()
    return top_k_of(np.concatenate(scores), np.concatenate(found), k)


def _search_block(
    block: Block, query: np.ndarray, allowed: np.ndarray | None, *, k: int, ef_search: int
) -> tuple[np.ndarray, np.ndarray]:
    """The block's best `k` allowed rows (block row numbers), rescored from the float16 copies."""
    count = block.size if allowed is None else int(np.count_nonzero(allowed))
    if count == 0:
        return _empty()
    if count < GATHER_BELOW:
        rows = np.arange(block.size) if allowed is None else np.flatnonzero(allowed)
        return _rescore(block, query, rows, k)
    wanted = min(k * CANDIDATES_FACTOR, count)
    params: faiss.SearchParameters
    if block.graph and count >= FILTERED_GRAPH_MIN * block.size:
        # A filtered walk finds as many allowed rows as an unfiltered one with efSearch scaled by the share allowed.
        ef = int(min(max(ef_search, wanted) * block.size / count, 16 * max(ef_search, wanted)))
        params = faiss.SearchParametersHNSW(efSearch=ef)  # type: ignore[attr-defined]  # not in faiss's stubs
        searched = block.index
    else:
        params = faiss.SearchParameters()
        searched = block.index
        if isinstance(searched, faiss.IndexHNSW):
            searched = faiss.downcast_index(searched.storage)
    bitmap = None
    if allowed is not None and count < block.size:
        bitmap = np.packbits(allowed, bitorder="little")  # kept alive until the search returns
        params.sel = faiss.IDSelectorBitmap(block.size, faiss.swig_ptr(bitmap))
    _, rows = searched.search(query.reshape(1, -1), wanted, params=params)
    del bitmap
    return _rescore(block, query, rows[0][rows[0] >= 0], k)


def _rescore(block: Block, query: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return top_k_of(block.vectors[rows].astype(np.float32) @ query, rows, k)


def blocks_layout(keys: np.ndarray) -> list[tuple[int, int, int]]:
    """(key, start, size) of each run of equal `keys` (rows sorted by key)."""
    if len(keys) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    return [(int(keys[s]), int(s), int(n)) for s, n in zip(starts, sizes, strict=True)]


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)


def block_dense_build(
    keys: np.ndarray,
    rows_vectors: Callable[[int, int], np.ndarray],
    *,
    dimension: int,
    reuse: Mapping[int, Block] | None = None,
    graph_min: int,
    m: int,
    ef_construction: int,
) -> BlockDense:
    """Blocks over rows sorted by key; `rows_vectors(start, stop)` gives the vectors of rows [start, stop). A
    block of `reuse` (by key) whose rows are unchanged is kept as it is, so a re-layout rebuilds only what moved."""
    blocks = []
    for key, start, size in blocks_layout(keys):
        old = (reuse or {}).get(key)
        if old is not None and old.size == size:
            blocks.append(Block(key, start, old.index, old.vectors))
            continue
        vectors = rows_vectors(start, start + size)
        blocks.append(block_build(key, start, vectors, graph_min=graph_min, m=m, ef_construction=ef_construction))
    return BlockDense(tuple(blocks), np.empty((0, dimension), dtype=np.float32), dimension)
