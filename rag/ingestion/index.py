"""Stage 4: the derived indexes (FAISS for vectors, BM25 for words) of one embedding model, held in memory by
each process and built from the database, which is the source of truth and the only thing processes share.

A write that changes a document's chunks calls `index_changes_record` inside its transaction: under the model's
IndexState row lock it bumps the version and logs the document, so versions commit in order. A process builds its
snapshot once from every chunk; then, at most once per RAG_INDEX_CHECK_INTERVAL_MS, it reads the version and, when
it moved, reloads the chunks of the documents changed since its own version (deltas by id) into a new snapshot,
built beside the one answering and swapped by reference. A new generation (`rag_rebuild_index`, or a new embedding
model's first use) builds from scratch the same way. No file is shared, so hosts need no common disk.

Index type by size: under RAG_ANN_THRESHOLD vectors an exact IndexFlatIP (a scan of 50k x 384 floats takes a few
milliseconds); from the threshold, blocks of rows, one per owner and one for shared documents (`BlockDense` in
rag/retrieval/dense.py), so that a user's search covers their own rows instead of filtering everyone's. Rows are
ordered by (block, document, chunk). A delta appends its rows to a tail scanned exactly; removed chunks are masked
out. Past RAG_INDEX_TAIL_MAX tail rows, or removed rows a quarter of all, the snapshot is laid out again, keeping
every block whose rows did not change.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import faiss
import numpy as np
from django.db import close_old_connections, connections, transaction
from django.db.models import F

from rag.conf import bool_setting, float_setting, int_setting
from rag.models import Chunk, Document, IndexChange, IndexState
from rag.retrieval.bm25 import Bm25Index, TermCounts, Vocabulary, bm25_build, term_counts
from rag.retrieval.dense import Block, BlockDense, block_dense_build, stored_vectors

logger = logging.getLogger(__name__)
COMPACT_ABOVE = 0.25  # removed rows, as a fraction of all rows, past which a snapshot is rebuilt without them
_BATCH = 900  # ids per IN (...) query, under SQLite's parameter limit
SHARED_BLOCK = 0  # the block key of shared documents; a private document's is its owner's id (never 0)
DenseIndex = faiss.Index | BlockDense


@dataclass
class Positions:
    """Which chunk and document each row of the indexes holds, which rows are still live, and a fast way to mask
    rows by document."""

    chunk_ids: np.ndarray
    document_ids: np.ndarray
    alive: np.ndarray
    blocks: np.ndarray  # each row's block key: its document's owner, or SHARED_BLOCK
    _documents: np.ndarray = field(init=False, repr=False)
    _inverse: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._documents, self._inverse = np.unique(self.document_ids, return_inverse=True)

    def mask(self, allowed_documents: np.ndarray) -> np.ndarray:
        return np.isin(self._documents, allowed_documents)[self._inverse] & self.alive


@dataclass(frozen=True)
class IndexSnapshot:
    version: int
    generation: int
    model_key: str
    positions: Positions
    dense: DenseIndex | None
    bm25: Bm25Index | None
    counts: TermCounts = field(repr=False)  # per row, so a delta re-scores BM25 without re-reading texts
    vocabulary: Vocabulary = field(repr=False, default_factory=Vocabulary)

    @property
    def index_type(self) -> str:
        if self.dense is None:
            return "empty"
        return "blocks" if isinstance(self.dense, BlockDense) else "flat"

    @property
    def dense_memory_bytes(self) -> int:
        """What the dense index holds in memory (vectors, codes, graphs)."""
        if isinstance(self.dense, BlockDense):
            return self.dense.memory_bytes
        return 0 if self.dense is None else self.dense.ntotal * self.dense.d * 4

    @property
    def count(self) -> int:
        return int(self.positions.alive.sum())


@dataclass(frozen=True)
class _State:
    version: int
    generation: int


@dataclass(frozen=True)
class _Rows:
    """Chunks read from the database: what one delta (or a full build) adds."""

    chunk_ids: np.ndarray
    document_ids: np.ndarray
    blocks: np.ndarray
    vectors: np.ndarray
    titles: list[str]
    texts: list[str]

    def sorted(self) -> "_Rows":
        """In index order: by block, document, chunk."""
        order = np.lexsort((self.chunk_ids, self.document_ids, self.blocks))
        if np.array_equal(order, np.arange(len(order))):
            return self
        return _Rows(
            self.chunk_ids[order],
            self.document_ids[order],
            self.blocks[order],
            self.vectors[order],
            [self.titles[i] for i in order],
            [self.texts[i] for i in order],
        )


# --- Writing: the version and the change log ------------------------------------------------------------------


def index_changes_record(*, model_keys: Iterable[str], document_ids: Iterable[int]) -> None:
    """Log that these documents' chunks of these models changed. Call inside the transaction that changed them:
    the row lock held until its commit keeps versions in commit order, so no reader can skip one."""
    documents = sorted(set(document_ids))
    for model_key in sorted(set(model_keys)):
        IndexState.objects.get_or_create(embedding_model=model_key)
        state = IndexState.objects.select_for_update().get(embedding_model=model_key)
        state.version += 1
        state.save(update_fields=["version"])
        IndexChange.objects.bulk_create(
            [IndexChange(embedding_model=model_key, version=state.version, document_id=d) for d in documents]
        )


def index_generation_bump(model_key: str) -> None:
    """Ask every process for a full rebuild of `model_key`'s index (each builds it beside the one answering)."""
    with transaction.atomic():
        IndexState.objects.get_or_create(embedding_model=model_key)
        IndexState.objects.filter(embedding_model=model_key).update(
            generation=F("generation") + 1, version=F("version") + 1
        )


def _state(model_key: str) -> _State:
    row = IndexState.objects.filter(embedding_model=model_key).values_list("version", "generation").first()
    return _State(*row) if row else _State(0, 0)


# --- Reading: one snapshot per process and model, refreshed from the database -----------------------------------


@dataclass
class _Holder:
    snapshot: IndexSnapshot | None = None
    checked_at: float = float("-inf")
    refreshing: bool = False
    build_lock: threading.Lock = field(default_factory=threading.Lock)


_holders: dict[str, _Holder] = {}
_holders_lock = threading.Lock()


def _holder(model_key: str) -> _Holder:
    with _holders_lock:
        return _holders.setdefault(model_key, _Holder())


def current_snapshot(model_key: str) -> IndexSnapshot:
    """This process's index of `model_key`. At most once per RAG_INDEX_CHECK_INTERVAL_MS the database's version is
    read; a newer one is applied in the background (RAG_INDEX_REFRESH_IN_BACKGROUND) while this one answers."""
    holder = _holder(model_key)
    now = time.monotonic()
    snapshot = holder.snapshot
    if snapshot is None:
        return index_refresh(model_key)  # nothing to answer from yet: build now
    if (now - holder.checked_at) * 1000 < int_setting("RAG_INDEX_CHECK_INTERVAL_MS"):
        return snapshot
    holder.checked_at = now
    if _behind(snapshot, _state(model_key)):
        if bool_setting("RAG_INDEX_REFRESH_IN_BACKGROUND"):
            _refresh_in_background(model_key, holder)
        else:
            return index_refresh(model_key)
    return snapshot


def index_refresh(model_key: str) -> IndexSnapshot:
    """Bring this process's index of `model_key` up to the database's version now, in the caller's thread."""
    holder = _holder(model_key)
    with holder.build_lock:
        state = _state(model_key)
        old = holder.snapshot
        if old is not None and not _behind(old, state):
            return old
        if old is None or old.generation != state.generation or old.version > state.version:
            snapshot = _build_full(model_key, state)
        else:
            snapshot = _apply_changes(old, state)
        holder.snapshot, holder.checked_at = snapshot, time.monotonic()
        return snapshot


def index_rebuild(model_key: str) -> IndexSnapshot:
    """A full rebuild everywhere (a new generation), done in this process now."""
    index_generation_bump(model_key)
    return index_refresh(model_key)


def snapshot_cache_clear() -> None:
    """Forget every snapshot (tests: each starts from its own database)."""
    with _holders_lock:
        _holders.clear()


def _behind(snapshot: IndexSnapshot, state: _State) -> bool:
    """Any difference counts: a version lower than ours means another database (restored, or a test's)."""
    return snapshot.version != state.version or snapshot.generation != state.generation


def _refresh_in_background(model_key: str, holder: _Holder) -> None:
    if holder.refreshing:
        return
    holder.refreshing = True

    def run() -> None:
        close_old_connections()
        try:
            index_refresh(model_key)
        except Exception:  # the old snapshot keeps answering; the next check tries again
            logger.exception("refreshing the %s index failed", model_key)
        finally:
            holder.refreshing = False
            connections.close_all()  # this thread's connections only

    threading.Thread(target=run, name=f"rag-index-{model_key}", daemon=True).start()


# --- Building ---------------------------------------------------------------------------------------------------


def _build_full(model_key: str, state: _State) -> IndexSnapshot:
    """Every chunk of the model. The version was read first, so changes committed meanwhile are applied again by
    the next refresh (applying a document's change twice gives the same rows)."""
    rows = _read_rows(Chunk.objects.filter(embedding_model=model_key)).sorted()
    vocabulary = Vocabulary()
    counts = _counts(vocabulary, rows)
    alive = np.ones(len(rows.chunk_ids), dtype=bool)
    dense = _dense(rows.blocks, lambda start, stop: rows.vectors[start:stop])
    ids = _Ids(rows.chunk_ids, rows.document_ids, rows.blocks)
    return _snapshot(model_key, state, ids, alive, dense, counts, vocabulary)


@dataclass(frozen=True)
class _Ids:
    chunk_ids: np.ndarray
    document_ids: np.ndarray
    blocks: np.ndarray

    def take(self, rows: np.ndarray) -> "_Ids":
        return _Ids(self.chunk_ids[rows], self.document_ids[rows], self.blocks[rows])


def _apply_changes(old: IndexSnapshot, state: _State) -> IndexSnapshot:
    changed = np.array(
        sorted(
            set(
                IndexChange.objects.filter(
                    embedding_model=old.model_key, version__gt=old.version, version__lte=state.version
                ).values_list("document_id", flat=True)
            )
        ),
        dtype=np.int64,
    )
    added = _read_changed(old.model_key, changed).sorted()
    positions = old.positions
    alive = np.concatenate(
        [positions.alive & ~np.isin(positions.document_ids, changed), np.ones(len(added.chunk_ids), bool)]
    )
    ids = _Ids(
        np.concatenate([positions.chunk_ids, added.chunk_ids]),
        np.concatenate([positions.document_ids, added.document_ids]),
        np.concatenate([positions.blocks, added.blocks]),
    )
    vocabulary = old.vocabulary
    counts = old.counts.append(_counts(vocabulary, added))
    removed = len(alive) - int(alive.sum())
    wanted = _wanted_type(int(alive.sum()))
    tail = len(old.dense.tail) + len(added.chunk_ids) if isinstance(old.dense, BlockDense) else 0
    if (
        old.dense is None
        or removed > COMPACT_ABOVE * len(alive)
        or wanted != old.index_type
        or tail > int_setting("RAG_INDEX_TAIL_MAX")
    ):
        return _relayout(old, state, ids, alive, added, counts)
    dense: DenseIndex
    if isinstance(old.dense, BlockDense):
        dense = old.dense.with_tail(added.vectors)  # the blocks are shared, not copied
    else:
        dense = faiss.clone_index(old.dense)  # readers keep searching the old object meanwhile
        if len(added.chunk_ids):
            dense.add(np.ascontiguousarray(added.vectors, dtype=np.float32))
    return _snapshot(old.model_key, state, ids, alive, dense, counts, vocabulary)


def _relayout(
    old: IndexSnapshot, state: _State, ids: _Ids, alive: np.ndarray, added: _Rows, counts: TermCounts
) -> IndexSnapshot:
    """The live rows (the old snapshot's, then `added`) in index order, without removed rows; blocks whose rows
    are unchanged are kept."""
    keep = np.flatnonzero(alive)
    keep = keep[np.lexsort((ids.chunk_ids[keep], ids.document_ids[keep], ids.blocks[keep]))]
    kept = ids.take(keep)
    before = len(old.positions.chunk_ids)

    def rows_vectors(start: int, stop: int) -> np.ndarray:
        sources = keep[start:stop]
        vectors = np.empty((len(sources), added.vectors.shape[1] or _dimension(old.dense)), dtype=np.float32)
        from_old = sources < before
        if from_old.any():
            vectors[from_old] = _vectors_of(old.dense, sources[from_old])
        if (~from_old).any():
            vectors[~from_old] = added.vectors[sources[~from_old] - before]
        return vectors

    unchanged = _unchanged_blocks(old, kept)
    dense = _dense(kept.blocks, rows_vectors, reuse=unchanged)
    return _snapshot(
        old.model_key, state, kept, np.ones(len(keep), dtype=bool), dense, counts.take(keep), old.vocabulary
    )


def _unchanged_blocks(old: IndexSnapshot, kept: _Ids) -> dict[int, Block]:
    """The old snapshot's blocks holding exactly the rows their key holds in the new layout."""
    if not isinstance(old.dense, BlockDense) or len(kept.blocks) == 0:
        return {}
    chunk_ids = old.positions.chunk_ids
    unchanged = {}
    starts = np.flatnonzero(np.r_[True, kept.blocks[1:] != kept.blocks[:-1]])
    stops = np.r_[starts[1:], len(kept.blocks)]
    new_rows = {int(kept.blocks[start]): kept.chunk_ids[start:stop] for start, stop in zip(starts, stops, strict=True)}
    for block in old.dense.blocks:
        rows = new_rows.get(block.key)
        if rows is not None and np.array_equal(rows, chunk_ids[block.start : block.start + block.size]):
            unchanged[block.key] = block
    return unchanged


def _vectors_of(dense: DenseIndex | None, positions: np.ndarray) -> np.ndarray:
    if isinstance(dense, BlockDense):
        return dense.take(positions)
    if dense is None:
        raise ValueError("no vectors to read")
    return stored_vectors(dense)[positions]


def _dimension(dense: DenseIndex | None) -> int:
    if isinstance(dense, BlockDense):
        return dense.dimension
    return int(dense.d) if dense is not None else 0


def _snapshot(
    model_key: str,
    state: _State,
    ids: _Ids,
    alive: np.ndarray,
    dense: DenseIndex | None,
    counts: TermCounts,
    vocabulary: Vocabulary,
) -> IndexSnapshot:
    positions = Positions(ids.chunk_ids, ids.document_ids, alive, ids.blocks)
    bm25 = bm25_build(counts, vocabulary, alive=alive) if alive.any() else None
    return IndexSnapshot(state.version, state.generation, model_key, positions, dense, bm25, counts, vocabulary)


def _counts(vocabulary: Vocabulary, rows: _Rows) -> TermCounts:
    title_weight = float_setting("RAG_BM25_TITLE_WEIGHT")
    return term_counts(vocabulary, titles=rows.titles, texts=rows.texts, title_weight=title_weight)


def _read_changed(model_key: str, documents: np.ndarray) -> _Rows:
    parts = [
        _read_rows(
            Chunk.objects.filter(
                embedding_model=model_key, document_id__in=documents[start : start + _BATCH].tolist()
            ).order_by("id")
        )
        for start in range(0, len(documents), _BATCH)
    ]
    if not parts:
        return _read_rows(Chunk.objects.none())
    return _Rows(
        np.concatenate([p.chunk_ids for p in parts]),
        np.concatenate([p.document_ids for p in parts]),
        np.concatenate([p.blocks for p in parts]),
        np.concatenate([p.vectors for p in parts]),
        [title for p in parts for title in p.titles],
        [text for p in parts for text in p.texts],
    )


def _read_rows(chunks: "object") -> _Rows:
    chunk_ids: list[int] = []
    document_ids: list[int] = []
    blocks: list[int] = []
    vectors: list[np.ndarray] = []
    titles: list[str] = []
    texts: list[str] = []
    rows = chunks.values_list(  # type: ignore[attr-defined]
        "id", "document_id", "document__owner_id", "document__scope", "document__title", "text", "vector"
    )
    shared = Document.Scope.SHARED
    for chunk_id, document_id, owner_id, scope, title, text, vector in rows.iterator(chunk_size=2000):
        chunk_ids.append(chunk_id)
        document_ids.append(document_id)
        blocks.append(SHARED_BLOCK if scope == shared else owner_id)
        vectors.append(np.frombuffer(bytes(vector), dtype=np.float32))
        titles.append(title)
        texts.append(text)
    dimension = len(vectors[0]) if vectors else 0
    return _Rows(
        np.array(chunk_ids, dtype=np.int64),
        np.array(document_ids, dtype=np.int64),
        np.array(blocks, dtype=np.int64),
        np.stack(vectors) if vectors else np.empty((0, dimension), dtype=np.float32),
        titles,
        texts,
    )


def _wanted_type(count: int) -> str:
    return "blocks" if count >= int_setting("RAG_ANN_THRESHOLD") else "flat"


def _dense(
    blocks: np.ndarray, rows_vectors: Callable[[int, int], np.ndarray], *, reuse: dict[int, Block] | None = None
) -> DenseIndex | None:
    """The dense index over rows in index order (their block keys given); `rows_vectors(start, stop)` reads the
    vectors of a run of rows, so a re-layout reads only the blocks it rebuilds."""
    if len(blocks) == 0:
        return None
    if _wanted_type(len(blocks)) == "blocks":
        first = rows_vectors(0, 1)
        return block_dense_build(
            blocks,
            rows_vectors,
            dimension=first.shape[1],
            reuse=reuse,
            graph_min=int_setting("RAG_GRAPH_MIN_ROWS"),
            m=int_setting("RAG_HNSW_M"),
            ef_construction=int_setting("RAG_HNSW_EF_CONSTRUCTION"),
        )
    vectors = rows_vectors(0, len(blocks))
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index
