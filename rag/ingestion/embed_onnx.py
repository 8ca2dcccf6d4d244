"""Sentence vectors from ONNX Runtime: the default embedding backend.

The model is exported once to ONNX (int8-quantised by default, see `onnx_export`) and run without PyTorch.
Tokenisation uses the model's own `tokenizer.json`, so token counts match what the model sees. Two sessions:
batches on every core for ingestion, and a single-threaded one for a query, where a thread pool would cost more
in hand-offs than it saves on a dozen tokens and would make latency erratic on a busy server.
"""

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from rag.ingestion.chunk import split_at_token_offsets
from rag.ingestion.onnx_export import UNFUSED, exported_model


class OnnxEmbedder:
    def __init__(
        self, *, model_key: str, model_path: Path, quantized: bool, cache_dir: Path, batch_size: int, threads: int
    ) -> None:
        self.model_key = model_key
        self.batch_size = max(batch_size, 1)
        max_seq_length = _max_seq_length(model_path)
        self.max_tokens = max_seq_length - 2  # [CLS] and [SEP]
        self._counter = _tokenizer(model_path)  # plain tokens: counting and splitting
        self._model_input = _tokenizer(model_path)  # what the model is fed: special tokens, truncated, padded
        self._model_input.enable_truncation(max_seq_length)
        self._model_input.enable_padding(pad_id=self._pad_id(model_path), pad_token=self._pad_token(model_path))
        onnx_path = exported_model(model_path, name=model_key, cache_dir=cache_dir, quantized=quantized)
        self._batch_session = _session(onnx_path, threads=threads or _available_cpus())
        self._query_session = _session(onnx_path, threads=1)
        self._input_names = [node.name for node in self._batch_session.get_inputs()]
        self.dimension = int(self.encode_query("dimension").shape[0])

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(encoding.ids) for encoding in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def split(self, text: str, max_tokens: int) -> list[str]:
        return split_at_token_offsets(text, self._counter.encode(text, add_special_tokens=False).offsets, max_tokens)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised float32 vectors, in the order given. Texts of similar length share a batch (less padding)."""
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda row: len(texts[row]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = self._run(self._batch_session, [texts[row] for row in rows])
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        return self._run(self._query_session, [text])[0]

    def _run(self, session: ort.InferenceSession, texts: list[str]) -> np.ndarray:
        encodings = self._model_input.encode_batch(texts)
        columns = {
            "input_ids": [encoding.ids for encoding in encodings],
            "attention_mask": [encoding.attention_mask for encoding in encodings],
            "token_type_ids": [encoding.type_ids for encoding in encodings],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._input_names}
        return np.ascontiguousarray(session.run(None, feed)[0], dtype=np.float32)

    def _pad_token(self, model_path: Path) -> str:
        config = _json(model_path / "tokenizer_config.json")
        token = config.get("pad_token") or "[PAD]"
        return token["content"] if isinstance(token, dict) else str(token)

    def _pad_id(self, model_path: Path) -> int:
        token_id = self._counter.token_to_id(self._pad_token(model_path))
        return token_id if token_id is not None else 0


def _tokenizer(model_path: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_padding()  # the file may carry the training-time padding and truncation: drop both
    tokenizer.no_truncation()
    return tokenizer


def _max_seq_length(model_path: Path) -> int:
    """sentence-transformers' limit for the model (its `sentence_bert_config.json`), else the tokenizer's."""
    configured = _json(model_path / "sentence_bert_config.json").get("max_seq_length")
    if configured:
        return int(configured)
    return min(int(_json(model_path / "tokenizer_config.json").get("model_max_length", 512)), 512)


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _session(path: Path, *, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: fused-graph notices are not news
    # Idle threads sleep instead of spinning: no slower for batches here, and it leaves the CPU to daphne.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=list(UNFUSED.values())
    )


def _available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
