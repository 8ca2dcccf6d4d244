"""Memories are embedded by RAG's model (one model loaded per process, for documents and memories alike)."""

from collections.abc import Sequence

import numpy as np

from rag.ingestion.embed import configured_model_key, get_embedder


def embedding_model_key() -> str:
    return configured_model_key()


def vectors_for(texts: Sequence[str]) -> np.ndarray:
    """Normalised float32 vectors, one row a text."""
    return get_embedder().encode(texts)


def query_vector(text: str) -> np.ndarray:
    return get_embedder().encode_query(text)
