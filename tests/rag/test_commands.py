import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from rag.conf import PACKAGED_MODEL
from rag.ingestion.embed import _model_path, get_embedder
from rag.ingestion.index import current_snapshot
from rag.models import Document
from realtime_chat.accounts.models import User

pytestmark = [pytest.mark.embeddings, pytest.mark.django_db]


def test_rebuild_index_publishes_a_new_version_from_the_database(user, ingest):
    ingest(user=user, name="a.txt", content="Aspirin relieves headaches.")
    before = current_snapshot(get_embedder().model_key)
    out = StringIO()
    call_command("rag_rebuild_index", stdout=out)
    after = current_snapshot(get_embedder().model_key)
    assert after.version == before.version + 1 and after.count == before.count == 1
    assert f"version {after.version}, 1 vectors, flat index" in out.getvalue()


def test_rag_eval_measures_a_beir_dataset_and_cleans_up(tmp_path, user):
    corpus = [
        {"_id": "d1", "title": "Aspirin", "text": "Aspirin relieves headaches and lowers fever."},
        {"_id": "d2", "title": "Metformin", "text": "Metformin lowers blood glucose in type 2 diabetes."},
        {"_id": "d3", "title": "Statins", "text": "Statins lower LDL cholesterol and cardiovascular risk."},
        {"_id": "d4", "title": "Empty", "text": ""},
    ]
    queries = [{"_id": "q1", "text": "drug for diabetes glucose"}, {"_id": "q2", "text": "cholesterol lowering"}]
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus))
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (tmp_path / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n")
    out = StringIO()
    call_command("rag_eval", "--beir", str(tmp_path), "--split", "train", "--json", "--mode", "all", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert {"ndcg@10", "recall@100", "mrr@10", "queries", "documents", "seconds"} <= summary.keys()
    assert summary["queries"] == 2 and summary["documents"] == 3
    assert summary["ndcg@10"] == 1.0 and set(summary["modes"]) == {"hybrid", "dense", "bm25"}
    assert list(User.objects.all()) == [user] and not Document.objects.exists()


def test_prepare_model_derives_the_onnx_file_once(settings, tmp_path):
    settings.RAG_MODEL_CACHE_DIR = tmp_path
    settings.RAG_EMBEDDING_MODEL = str(Path(_model_path(PACKAGED_MODEL)))  # a fresh cache entry: not yet loaded
    out = StringIO()
    call_command("rag_prepare_model", stdout=out)
    assert "embedding model model-int8 ready (384 dimensions)" in out.getvalue()
    assert [path.suffix for path in tmp_path.iterdir()] == [".onnx"]
