import pytest

from realtime_chat.core.health import health_report

pytestmark = [pytest.mark.embeddings, pytest.mark.django_db(transaction=True)]


def test_embeddings_and_vector_index_checks_report_and_are_optional(user, ingest):
    _, checks = health_report()
    assert checks["embeddings"]["ok"] and "384 dimensions" in checks["embeddings"]["message"]
    assert checks["vector_index"]["ok"] and "nothing ingested" in checks["vector_index"]["message"]
    assert not checks["embeddings"]["required"] and not checks["vector_index"]["required"]
    ingest(user=user, name="a.txt", content="Aspirin relieves headaches.")
    _, checks = health_report()
    assert "v1: 1 vectors, flat" in checks["vector_index"]["message"]
