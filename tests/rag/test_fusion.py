import pytest

from rag.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_ranks_items_found_by_both_retrievers_first():
    dense = ["a", "b", "c"]
    lexical = ["c", "d", "a"]
    fused = reciprocal_rank_fusion([dense, lexical], k=60)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)


def test_rrf_with_one_ranking_keeps_its_order():
    assert [item for item, _ in reciprocal_rank_fusion([[3, 1, 2]])] == [3, 1, 2]


def test_rrf_of_nothing_is_empty():
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []


def test_rrf_rejects_non_positive_k():
    with pytest.raises(ValueError, match="k must be greater than 0"):
        reciprocal_rank_fusion([["a"]], k=0)
