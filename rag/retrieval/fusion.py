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
