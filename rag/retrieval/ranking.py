"""The best k of a set of scores: what the dense and the BM25 retrievers both hand on."""

import numpy as np


def top_k_of(scores: np.ndarray, positions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best `k` of `scores`, as their `positions`, best first (ties in the order given)."""
    if len(scores) > k:
        top = np.argpartition(-scores, k - 1)[:k]
        scores, positions = scores[top], positions[top]
    order = np.argsort(-scores, kind="stable")
    return positions[order].astype(np.int64), scores[order].astype(np.float32)
