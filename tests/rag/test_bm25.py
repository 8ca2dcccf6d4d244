"""BM25 with a title field, built from term counts that grow by deltas."""

import numpy as np
import pytest

from rag.retrieval.bm25 import Vocabulary, bm25_build, bm25_scores, bm25_search, term_counts

TITLES = ["Statins and muscle pain", "Cholesterol guidelines", "Sleep and memory"]
TEXTS = [
    "A trial of adults on treatment reported aches in a minority of patients.",
    "Statins lower LDL cholesterol; doctors weigh the benefit against rare side effects.",
    "Memory consolidation happens during deep sleep.",
]


def build(titles, texts, *, title_weight=2.0, alive=None):
    vocabulary = Vocabulary()
    counts = term_counts(vocabulary, titles=titles, texts=texts, title_weight=title_weight)
    return bm25_build(counts, vocabulary, alive=alive), counts, vocabulary


def test_a_title_word_weighs_more_than_the_same_word_in_the_text():
    index, _, _ = build(TITLES, TEXTS)
    positions, _ = bm25_search(index, "statins", mask=None, k=3)
    assert positions.tolist() == [0, 1]  # the chunk titled "Statins ..." before the one that mentions them
    flat, _, _ = build(TITLES, TEXTS, title_weight=0.0)
    assert bm25_search(flat, "statins", mask=None, k=3)[0].tolist() == [1]  # without the title, only the text


def test_query_words_are_stemmed_and_stop_words_dropped():
    index, _, _ = build(TITLES, TEXTS)
    assert bm25_search(index, "the sleeping", mask=None, k=3)[0].tolist() == [2]
    assert bm25_scores(index, "the and of") is None


def test_the_mask_only_narrows():
    index, _, _ = build(TITLES, TEXTS)
    mask = np.array([False, True, True])
    assert bm25_search(index, "statins", mask=mask, k=3)[0].tolist() == [1]


def test_counts_grown_by_a_delta_score_like_a_fresh_build_of_the_live_rows():
    """Row 0 removed (masked) and row 2 added later: the statistics are those of rows 1 and 2 alone."""
    vocabulary = Vocabulary()
    first = term_counts(vocabulary, titles=TITLES[:2], texts=TEXTS[:2], title_weight=2.0)
    grown = first.append(term_counts(vocabulary, titles=TITLES[2:], texts=TEXTS[2:], title_weight=2.0))
    delta = bm25_build(grown, vocabulary, alive=np.array([False, True, True]))
    fresh, _, _ = build(TITLES[1:], TEXTS[1:])
    for query in ("statins cholesterol", "sleep memory", "side effects of statins"):
        assert bm25_scores(delta, query)[1:] == pytest.approx(bm25_scores(fresh, query), rel=1e-5)
        assert bm25_scores(delta, query)[0] == 0


def test_a_query_with_common_terms_ranks_as_scoring_every_entry_would():
    """Common terms are looked up only for the entries holding a rare one that could still make the top k
    (MaxScore): the same top k, masked too."""
    generator = np.random.default_rng(0)
    common = ["patient", "study", "result", "dose"]
    rare = [f"term{n}" for n in range(300)]
    texts = [
        " ".join([*generator.choice(common, 6), *generator.choice(rare, 3), *generator.choice(common, 4)])
        for _ in range(2000)
    ]
    index, _, _ = build(["Title"] * len(texts), texts)
    mask = generator.random(len(texts)) < 0.3
    mixed = [  # one to three rare terms among common ones: the candidates that cannot make the top k are cut
        " ".join([*generator.choice(common, 2), *generator.choice(rare, 1 + n % 3)]) for n in range(30)
    ]
    for query in ("patient study term7", "dose term12 term250 result", "patient dose", "term3", *mixed):
        scores = bm25_scores(index, query)
        for allowed in (None, mask):
            found, found_scores = bm25_search(index, query, mask=allowed, k=10)
            expected = scores if allowed is None else np.where(allowed, scores, 0)
            assert found_scores == pytest.approx(np.sort(expected[expected > 0])[::-1][:10], rel=1e-5)
            assert found_scores == pytest.approx(expected[found], rel=1e-5)
