"""The large-index layout (blocks of rows per owner, a tail of new rows) with real FAISS at small sizes forced by
settings: it agrees with an exact search of what a user may see, never returns anything else, and follows deltas."""

import numpy as np
import pytest

from rag.ingestion.embed import get_embedder
from rag.ingestion.index import SHARED_BLOCK, current_snapshot
from rag.retrieval.dense import BlockDense, block_dense_build, dense_search
from rag.retrieval.retriever import retrieve_for_user

DIMENSION = 32


def clustered_vectors(count: int, seed: int) -> np.ndarray:
    """Unit vectors mixed from a few shared directions, so neighbours are near-ties as in real embeddings."""
    generator = np.random.default_rng(seed)
    bases = generator.normal(size=(16, DIMENSION))
    mix = bases[generator.integers(0, 16, size=(count, 3))].sum(axis=1) + generator.normal(scale=0.1, size=(count, 32))
    return (mix / np.linalg.norm(mix, axis=1, keepdims=True)).astype(np.float32)


def exact(vectors: np.ndarray, mask: np.ndarray, query: np.ndarray, k: int) -> set[int]:
    rows = np.flatnonzero(mask)
    return set(rows[np.argsort(-(vectors[rows] @ query))[:k]].tolist())


@pytest.fixture(scope="module")
def layout() -> tuple[np.ndarray, np.ndarray, BlockDense]:
    """Owners 1-4 own 5 %, 10 %, 25 % and 55 % of 4,000 rows, 5 % are shared; the two largest blocks get graphs.
    Then 200 rows added (the tail), by owner 1 and the shared block."""
    sizes = {1: 200, 2: 400, 3: 1000, 4: 2200, SHARED_BLOCK: 200}
    keys = np.sort(np.concatenate([np.full(size, key) for key, size in sizes.items()]))
    vectors = clustered_vectors(len(keys), seed=1)
    dense = block_dense_build(
        keys,
        lambda start, stop: vectors[start:stop],
        dimension=DIMENSION,
        graph_min=1000,
        m=16,
        ef_construction=64,
    )
    added = clustered_vectors(200, seed=2)
    dense = dense.with_tail(added)
    return (
        np.concatenate([keys, np.r_[np.full(100, 1), np.full(100, SHARED_BLOCK)]]),
        np.vstack([vectors, added]),
        dense,
    )


def test_blocks_follow_owners_and_only_large_ones_get_a_graph(layout):
    _, _, dense = layout
    assert [(b.key, b.size, b.graph) for b in dense.blocks] == [
        (SHARED_BLOCK, 200, False),
        (1, 200, False),
        (2, 400, False),
        (3, 1000, True),
        (4, 2200, True),
    ]
    assert dense.ntotal == 4200 and len(dense.tail) == 200
    assert dense.memory_bytes > 4200 * DIMENSION * 2  # float16 copies, 8-bit codes, graphs


@pytest.mark.parametrize("owner", [1, 2, 3, 4])
def test_each_owner_gets_the_exact_top_10_of_their_rows_and_shared_ones(layout, owner):
    keys, vectors, dense = layout
    mask = (keys == owner) | (keys == SHARED_BLOCK)
    queries = clustered_vectors(30, seed=3)
    recall = []
    for query in queries:
        found, scores = dense_search(dense, query, mask=mask, k=10, ef_search=32)
        assert mask[found].all()  # nothing outside the scope, whatever the block or the tail
        assert np.all(np.diff(scores) <= 1e-6)
        assert np.allclose(scores, vectors[found] @ query, atol=2e-3)  # rescored: float16 rounding only
        recall.append(len(exact(vectors, mask, query, 10) & set(found.tolist())) / 10)
    assert np.mean(recall) >= 0.95


def test_a_narrowed_or_masked_scope_is_searched_exactly(layout):
    keys, vectors, dense = layout
    generator = np.random.default_rng(4)
    mask = (keys == 4) & (generator.random(len(keys)) < 0.1)  # a tenth of a graph's block: too few for a walk
    for query in clustered_vectors(10, seed=5):
        found, _ = dense_search(dense, query, mask=mask, k=10, ef_search=32)
        assert set(found.tolist()) == exact(vectors, mask, query, 10)
    assert dense_search(dense, vectors[0], mask=np.zeros(len(keys), dtype=bool), k=10, ef_search=32)[0].size == 0


NOTES = [
    "Aspirin relieves pain and fever and prevents blood clots.",
    "Metformin lowers blood glucose in type 2 diabetes.",
    "Statins lower LDL cholesterol and the risk of heart attacks.",
    "Ibuprofen reduces inflammation, pain and fever.",
]


@pytest.mark.embeddings
@pytest.mark.django_db
def test_deltas_go_to_the_tail_and_a_relayout_keeps_unchanged_blocks(user, stranger, ingest, settings, auth_client):
    settings.RAG_ANN_THRESHOLD = 5  # the fifth chunk lays the index out in blocks: the stranger's four, my first
    settings.RAG_GRAPH_MIN_ROWS = 2
    settings.RAG_INDEX_CHECK_INTERVAL_MS = 0
    settings.RAG_INDEX_REFRESH_IN_BACKGROUND = False
    model_key = get_embedder().model_key
    theirs = [ingest(user=stranger, name=f"s{n}.txt", content=f"SECRET-{n} {note}") for n, note in enumerate(NOTES)]
    mine = [ingest(user=user, name=f"m{n}.txt", content=note) for n, note in enumerate(NOTES)]
    snapshot = current_snapshot(model_key)
    assert snapshot.index_type == "blocks" and len(snapshot.dense.tail) == 3  # added after the layout: the tail
    for question in ("pain and fever", "SECRET-1", "cholesterol"):
        found = retrieve_for_user(user=user, query=question, top_k=10)
        assert {c.document_id for c in found} <= {d.pk for d in mine} and found
    settings.RAG_INDEX_TAIL_MAX = 0  # the next change lays the index out again
    assert auth_client.delete(f"/api/documents/{mine[0].pk}/").status_code == 204
    relaid = current_snapshot(model_key)
    assert len(relaid.dense.tail) == 0 and mine[0].pk not in relaid.positions.document_ids.tolist()
    by_key = {block.key: block for block in relaid.dense.blocks}
    assert set(by_key) == {user.pk, stranger.pk}
    old_blocks = {block.key: block for block in snapshot.dense.blocks}
    assert by_key[stranger.pk].index is old_blocks[stranger.pk].index  # unchanged: kept, not rebuilt
    assert by_key[user.pk].size == 3 and by_key[user.pk].graph
    found = retrieve_for_user(user=user, query="pain and fever", top_k=10)
    assert {c.document_id for c in found} == {d.pk for d in mine[1:]}
    assert all("SECRET" not in c.text for c in found)
    assert retrieve_for_user(user=stranger, query="SECRET-2", top_k=1)[0].document_id == theirs[2].pk
