import pytest

from rag.retrieval.fusion import convex_combination, reciprocal_rank_fusion


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


def test_convex_combination_keeps_how_far_apart_the_scores_are():
    dense = (["a", "b", "c"], [0.9, 0.85, 0.2], 0.5)
    lexical = (["c", "b", "d"], [12.0, 11.5, 2.0], 0.5)
    fused = convex_combination([dense, lexical])
    # b is a close second in both lists: first here, where rank fusion would put it behind a and c.
    assert [item for item, _ in fused] == ["b", "a", "c", "d"]
    assert dict(fused)["b"] == pytest.approx(0.5 * 0.65 / 0.7 + 0.5 * 9.5 / 10)
    assert reciprocal_rank_fusion([dense[0], lexical[0]])[0][0] != "b"


def test_convex_combination_weights_each_retriever():
    dense = (["a", "b"], [0.9, 0.1], 0.8)
    lexical = (["b", "a"], [5.0, 1.0], 0.2)
    assert [item for item, _ in convex_combination([dense, lexical])] == ["a", "b"]
    assert [item for item, _ in convex_combination([(*dense[:2], 0.2), (*lexical[:2], 0.8)])] == ["b", "a"]


def test_convex_combination_of_one_result_or_nothing():
    assert convex_combination([(["a"], [3.0], 1.0)]) == [("a", 1.0)]
    assert convex_combination([([], [], 0.5), ([], [], 0.5)]) == []
