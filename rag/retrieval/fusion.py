"""Reciprocal rank fusion (Cormack et al., 2009): a pure function over ranked id lists."""

from collections.abc import Hashable, Sequence
from typing import TypeVar

Id = TypeVar("Id", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Id]], *, k: int = 60) -> list[tuple[Id, float]]:
    """Ids by the sum of 1/(k + rank) over the rankings that hold them (rank from 1), best first.
    Ties keep the order in which ids were first seen."""
    if k <= 0:
        raise ValueError("k must be greater than 0")
    scores: dict[Id, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def convex_combination(
    rankings: Sequence[tuple[Sequence[Id], Sequence[float], float]],
) -> list[tuple[Id, float]]:
    """Ids by the weighted sum of each retriever's min-max normalised scores, best first; an id a retriever did not
    return gets 0 from it. Unlike RRF this keeps how far apart scores are, which on BEIR beats rank fusion
    (Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval", 2023). `rankings` holds, per retriever,
    its ids, their scores (best first) and its weight."""
    fused: dict[Id, float] = {}
    for ids, scores, weight in rankings:
        if not len(ids):
            continue
        high, low = float(max(scores)), float(min(scores))
        span = high - low
        for item, score in zip(ids, scores, strict=True):
            normalised = (float(score) - low) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + weight * normalised
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)
