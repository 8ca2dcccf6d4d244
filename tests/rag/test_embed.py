"""The embedding backends against sentence-transformers itself: same tokens, (nearly) the same vectors."""

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from django.core.exceptions import ImproperlyConfigured

from rag.conf import PACKAGED_MODEL
from rag.ingestion.embed import _embedder, _model_path, configured_model_key, get_embedder
from rag.ingestion.onnx_export import exported_model

pytestmark = pytest.mark.embeddings

TEXTS = [
    "Metformin lowers blood glucose in type 2 diabetes.",
    "What are its side effects?",
    "Aspirin, at low dose, prevents blood clots after a heart attack. " * 40,  # longer than the model's limit
    "Ünïcode, émojis 🙂 and CJK 漢字 are tokenised the same way.",
    "a",
]


@pytest.fixture(scope="module")
def reference():
    return _embedder(PACKAGED_MODEL, "torch")


@pytest.mark.parametrize(("backend", "min_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.98)])
def test_onnx_vectors_match_sentence_transformers(reference, backend, min_cosine):
    embedder = _embedder(PACKAGED_MODEL, backend)
    expected = reference.encode(TEXTS)
    batch = embedder.encode(TEXTS)
    assert batch.dtype == np.float32 and batch.shape == expected.shape
    assert np.allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-4)
    assert (batch * expected).sum(axis=1).min() >= min_cosine
    # int8 activations are scaled per batch, so a text's vector depends a little on its batch: bounded the same
    one_by_one = np.stack([embedder.encode_query(text) for text in TEXTS])
    assert (one_by_one * expected).sum(axis=1).min() >= min_cosine


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_tokens_match_the_model_tokenizer(reference, backend):
    embedder = _embedder(PACKAGED_MODEL, backend)
    assert embedder.count(TEXTS) == reference.count(TEXTS)
    assert embedder.split(TEXTS[2], 50) == reference.split(TEXTS[2], 50)
    assert (embedder.max_tokens, embedder.dimension) == (reference.max_tokens, reference.dimension)


def test_quantised_vectors_are_indexed_under_their_own_key(reference, settings):
    settings.RAG_EMBEDDING_BACKEND = "onnx-int8"
    assert get_embedder().model_key == configured_model_key() == f"{reference.model_key}-int8"
    settings.RAG_EMBEDDING_BACKEND = "onnx"
    assert get_embedder().model_key == configured_model_key() == reference.model_key


def test_unknown_backend_is_a_configuration_error(settings):
    settings.RAG_EMBEDDING_BACKEND = "tensorflow"
    with pytest.raises(ImproperlyConfigured, match="RAG_EMBEDDING_BACKEND"):
        get_embedder()


def test_exported_model_is_derived_once_and_reused(tmp_path):
    model_path = Path(_model_path(PACKAGED_MODEL))
    first = exported_model(model_path, name="m", cache_dir=tmp_path, quantized=True)
    modified = first.stat().st_mtime_ns
    assert exported_model(model_path, name="m", cache_dir=tmp_path, quantized=True) == first
    assert first.stat().st_mtime_ns == modified
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch files left behind
    operators = {node.op_type for node in onnx.load(first).graph.node}
    assert {"QAttention", "QEmbedLayerNormalization", "LayerNormalization", "Gelu"} <= operators
    assert not operators & {"SkipLayerNormalization", "BiasGelu"}  # slower fused than plain, see `UNFUSED`


def test_a_model_path_that_is_not_a_directory_is_a_configuration_error(settings, tmp_path):
    settings.RAG_EMBEDDING_MODEL = str(tmp_path / "missing")
    with pytest.raises(ImproperlyConfigured, match="RAG_EMBEDDING_MODEL"):
        get_embedder()


def test_onnx_backend_explains_a_model_without_a_fast_tokenizer(settings, tmp_path):
    model = tmp_path / "slow-tokenizer-model"
    shutil.copytree(_model_path(PACKAGED_MODEL), model, ignore=shutil.ignore_patterns("tokenizer.json"))
    settings.RAG_EMBEDDING_MODEL = str(model)
    with pytest.raises(ImproperlyConfigured, match="RAG_EMBEDDING_BACKEND=torch"):
        get_embedder()


def test_a_local_model_directory_runs_on_onnx_under_its_own_name(settings, tmp_path, reference):
    model = tmp_path / "my-minilm"
    shutil.copytree(_model_path(PACKAGED_MODEL), model)
    settings.RAG_EMBEDDING_MODEL = str(model)
    settings.RAG_MODEL_CACHE_DIR = tmp_path / "cache"
    embedder = get_embedder()
    assert embedder.model_key == "my-minilm-int8"
    assert float(embedder.encode_query(TEXTS[0]) @ reference.encode_query(TEXTS[0])) >= 0.98
