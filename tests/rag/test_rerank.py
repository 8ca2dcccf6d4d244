"""The optional cross-encoder reranker, through the real retriever, with a small cross-encoder made here (no PyPI
package ships reranker weights, and none may be fetched at run time)."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from rag.conf import PACKAGED_MODEL
from rag.ingestion.embed import _model_path
from rag.retrieval.rerank import _reranker
from rag.retrieval.retriever import retrieve_for_user

pytestmark = [pytest.mark.embeddings, pytest.mark.django_db]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """A one-layer BERT sequence classifier with the packaged model's vocabulary, saved like any CrossEncoder."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    directory = tmp_path_factory.mktemp("cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(_model_path(PACKAGED_MODEL))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(autouse=True)
def _fresh_reranker():
    _reranker.cache_clear()
    yield
    _reranker.cache_clear()


def test_the_reranker_reorders_the_fused_head_by_its_own_scores(user, ingest, settings, tiny_cross_encoder):
    for number in range(5):
        ingest(user=user, name=f"{number}.txt", content=f"Aspirin note {number}: it relieves pain and fever.")
    plain = retrieve_for_user(user=user, query="aspirin pain", top_k=5)
    settings.RAG_RERANKER_MODEL = str(tiny_cross_encoder)
    settings.RAG_RERANK_CANDIDATES = 5
    reranked = retrieve_for_user(user=user, query="aspirin pain", top_k=3)
    assert len(reranked) == 3
    assert [c.score for c in reranked] == sorted((c.score for c in reranked), reverse=True)
    assert {c.chunk_id for c in reranked} <= {c.chunk_id for c in plain}
    assert {c.score for c in reranked}.isdisjoint({c.score for c in plain})  # the cross-encoder's scores


def test_a_reranker_setting_that_names_no_model_is_a_configuration_error(user, ingest, settings, tmp_path):
    ingest(user=user, name="a.txt", content="Aspirin relieves pain.")
    settings.RAG_RERANKER_MODEL = str(tmp_path)
    with pytest.raises(ImproperlyConfigured, match="RAG_RERANKER_MODEL"):
        retrieve_for_user(user=user, query="aspirin", top_k=1)
