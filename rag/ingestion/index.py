"""Stage 4: the derived indexes (FAISS for vectors, bm25s for words), one set per embedding model.

The database is the source of truth; `index_sync` makes the on-disk indexes match it and publishes them as a
new version: versioned files are written first, then `manifest.json` is replaced atomically. Every process
keeps the current version in memory and, at most once per RAG_INDEX_CHECK_INTERVAL_MS, stats the manifest to
notice a newer one. Writers take a file lock, so two workers never publish over each other.

Index type by size: under RAG_HNSW_THRESHOLD vectors an exact IndexFlatIP (a full scan of 50k x 384 floats
is a few milliseconds); from the threshold, IndexHNSWFlat (sub-millisecond, approximate; built incrementally,
rebuilt when vectors are removed because HNSW cannot delete).
"""

import fcntl
import functools
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from rag.conf import index_dir, int_setting
from rag.ingestion.chunk import search_text
from rag.models import Chunk
from rag.retrieval.bm25 import bm25_build

MANIFEST = "manifest.json"
KEEP_VERSIONS = 3  # older files are deleted; a reader still loading one of the last three is safe
_BATCH = 900  # ids per IN (...) query, under SQLite's parameter limit


@dataclass
class Positions:
    """Which chunk and document each row of an index holds, and a fast way to mask rows by document."""

    chunk_ids: np.ndarray
    document_ids: np.ndarray
    _documents: np.ndarray = field(init=False, repr=False)
    _inverse: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._documents, self._inverse = np.unique(self.document_ids, return_inverse=True)

    def mask(self, allowed_documents: np.ndarray) -> np.ndarray:
        return np.isin(self._documents, allowed_documents)[self._inverse]


@dataclass
class IndexSnapshot:
    version: int
    model_key: str
    dense: faiss.Index | None
    dense_positions: Positions
    bm25: bm25s.BM25 | None
    bm25_positions: Positions

    @property
    def index_type(self) -> str:
        if self.dense is None:
            return "empty"
        return "hnsw" if isinstance(self.dense, faiss.IndexHNSW) else "flat"

    @property
    def count(self) -> int:
        return len(self.dense_positions.chunk_ids)


def store_dir(model_key: str) -> Path:
    return index_dir() / model_key


def read_manifest(directory: Path) -> dict | None:
    try:
        return json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return None


def load_snapshot(directory: Path) -> IndexSnapshot | None:
    manifest = read_manifest(directory)
    if manifest is None:
        return None
    version = manifest["version"]
    dense_ids = np.load(directory / f"v{version}.dense.npz")
    bm25_ids = np.load(directory / f"v{version}.bm25.npz")
    dense = faiss.read_index(str(directory / f"v{version}.faiss")) if manifest["count"] else None
    bm25 = bm25s.BM25.load(directory / f"v{version}.bm25", show_progress=False) if manifest["count"] else None
    return IndexSnapshot(
        version=version,
        model_key=manifest["model"],
        dense=dense,
        dense_positions=Positions(dense_ids["chunk_ids"], dense_ids["document_ids"]),
        bm25=bm25,
        bm25_positions=Positions(bm25_ids["chunk_ids"], bm25_ids["document_ids"]),
    )


# --- Reading: one snapshot per process, reloaded when the manifest changes -------------------------------


@dataclass
class _Cached:
    snapshot: IndexSnapshot | None
    signature: tuple | None
    checked_at: float


_cache: dict[Path, _Cached] = {}
_cache_lock = threading.Lock()


def _signature(directory: Path) -> tuple | None:
    try:
        stat = (directory / MANIFEST).stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def current_snapshot(model_key: str) -> IndexSnapshot | None:
    """The newest published index for `model_key`, loaded once and kept; None when nothing was indexed yet."""
    directory = store_dir(model_key)
    entry = _cache.get(directory)
    now = time.monotonic()
    if entry is not None and (now - entry.checked_at) * 1000 < int_setting("RAG_INDEX_CHECK_INTERVAL_MS"):
        return entry.snapshot
    signature = _signature(directory)
    if entry is not None and entry.signature == signature:
        entry.checked_at = now
        return entry.snapshot
    with _cache_lock:
        entry = _cache.get(directory)
        if entry is None or entry.signature != signature:
            entry = _Cached(_load_retrying(directory), signature, now)
            _cache[directory] = entry
    return entry.snapshot


def _load_retrying(directory: Path) -> IndexSnapshot | None:
    try:
        return load_snapshot(directory)
    except FileNotFoundError:  # a writer published and pruned between our reads: read the new manifest
        return load_snapshot(directory)


def snapshot_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


# --- Writing ---------------------------------------------------------------------------------------------


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def index_sync(model_key: str, *, rebuild: bool = False) -> IndexSnapshot:
    """Make the indexes for `model_key` match the database and publish them if anything changed."""
    directory = store_dir(model_key)
    with _locked(directory):
        old = None if rebuild else _published(directory)
        rows = Chunk.objects.filter(embedding_model=model_key).order_by("id").values_list("id", "document_id")
        ids = np.array(list(rows), dtype=np.int64).reshape(-1, 2)
        chunk_ids, document_ids = ids[:, 0], ids[:, 1]
        if old is not None and np.array_equal(np.sort(old.dense_positions.chunk_ids), chunk_ids):
            return old
        dense, positions = _dense_sync(old, chunk_ids, document_ids)
        bm25, bm25_positions = _bm25_build(model_key)
        version = _next_version(directory)
        snapshot = IndexSnapshot(version, model_key, dense, positions, bm25, bm25_positions)
        _publish(directory, snapshot)
    with _cache_lock:
        _cache[directory] = _Cached(snapshot, _signature(directory), time.monotonic())
    return snapshot


def _published(directory: Path) -> IndexSnapshot | None:
    """The published snapshot: this process's copy when it is current, else read from disk."""
    manifest = read_manifest(directory)
    entry = _cache.get(directory)
    if manifest and entry is not None and entry.snapshot is not None and entry.snapshot.version == manifest["version"]:
        return entry.snapshot
    return load_snapshot(directory)


def _next_version(directory: Path) -> int:
    manifest = read_manifest(directory)
    return (manifest["version"] if manifest else 0) + 1


def _dense_sync(
    old: IndexSnapshot | None, chunk_ids: np.ndarray, document_ids: np.ndarray
) -> tuple[faiss.Index | None, Positions]:
    if len(chunk_ids) == 0:
        return None, Positions(chunk_ids, document_ids)
    wanted_type = "hnsw" if len(chunk_ids) >= int_setting("RAG_HNSW_THRESHOLD") else "flat"
    if old is not None and old.dense is not None:
        old_ids = old.dense_positions.chunk_ids
        kept = np.isin(old_ids, chunk_ids)
        added = ~np.isin(chunk_ids, old_ids)
        if kept.all() and old.index_type == wanted_type:
            index = faiss.clone_index(old.dense)  # readers in this process keep using the old object
            index.add(_vectors(chunk_ids[added], dimension=index.d))
            return index, Positions(
                np.concatenate([old_ids, chunk_ids[added]]),
                np.concatenate([old.dense_positions.document_ids, document_ids[added]]),
            )
        from rag.retrieval.dense import stored_vectors

        kept_vectors = stored_vectors(old.dense)[kept]
        vectors = np.concatenate([kept_vectors, _vectors(chunk_ids[added], dimension=old.dense.d)])
        return _build(vectors, wanted_type), Positions(
            np.concatenate([old_ids[kept], chunk_ids[added]]),
            np.concatenate([old.dense_positions.document_ids[kept], document_ids[added]]),
        )
    return _build(_vectors(chunk_ids), wanted_type), Positions(chunk_ids, document_ids)


def _vectors(chunk_ids: np.ndarray, *, dimension: int = 0) -> np.ndarray:
    """Vectors from the database, in the order of `chunk_ids`."""
    found: dict[int, bytes] = {}
    for start in range(0, len(chunk_ids), _BATCH):
        batch = [int(i) for i in chunk_ids[start : start + _BATCH]]
        found.update(Chunk.objects.filter(id__in=batch).values_list("id", "vector"))
    if not found:
        return np.empty((0, dimension), dtype=np.float32)
    return np.stack([np.frombuffer(bytes(found[int(i)]), dtype=np.float32) for i in chunk_ids])


def _build(vectors: np.ndarray, index_type: str) -> faiss.Index:
    dimension = vectors.shape[1]
    index: faiss.Index
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, int_setting("RAG_HNSW_M"), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int_setting("RAG_HNSW_EF_CONSTRUCTION")
    else:
        index = faiss.IndexFlatIP(dimension)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _bm25_build(model_key: str) -> tuple[bm25s.BM25 | None, Positions]:
    rows = (
        Chunk.objects.filter(embedding_model=model_key)
        .order_by("id")
        .values_list("id", "document_id", "document__title", "text")
    )
    chunk_ids, document_ids, texts = [], [], []
    for chunk_id, document_id, title, text in rows.iterator(chunk_size=2000):
        chunk_ids.append(chunk_id)
        document_ids.append(document_id)
        texts.append(search_text(title=title, text=text))
    positions = Positions(np.array(chunk_ids, dtype=np.int64), np.array(document_ids, dtype=np.int64))
    return (bm25_build(texts) if texts else None), positions


def _publish(directory: Path, snapshot: IndexSnapshot) -> None:
    version = snapshot.version
    for name, positions in (("dense", snapshot.dense_positions), ("bm25", snapshot.bm25_positions)):
        _atomic(directory / f"v{version}.{name}.npz", functools.partial(_save_positions, positions=positions))
    if (dense := snapshot.dense) is not None:
        _atomic(directory / f"v{version}.faiss", lambda path: faiss.write_index(dense, str(path)))
    if snapshot.bm25 is not None:
        bm25_dir = directory / f"v{version}.bm25"
        shutil.rmtree(bm25_dir, ignore_errors=True)
        snapshot.bm25.save(bm25_dir, show_progress=False)
    manifest = {
        "version": version,
        "model": snapshot.model_key,
        "count": snapshot.count,
        "index_type": snapshot.index_type,
        "built_at": time.time(),
    }
    _atomic(directory / MANIFEST, lambda path: path.write_text(json.dumps(manifest)))
    _prune(directory, keep_from=version - KEEP_VERSIONS + 1)


def _save_positions(path: Path, positions: Positions) -> None:
    with path.open("wb") as handle:
        np.savez(handle, chunk_ids=positions.chunk_ids, document_ids=positions.document_ids)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(path)


def _prune(directory: Path, *, keep_from: int) -> None:
    for path in directory.glob("v*"):
        number = path.name[1:].split(".", 1)[0]
        if number.isdigit() and int(number) < keep_from:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
