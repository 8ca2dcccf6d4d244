"""A real daphne serving the test database, for tests that drive the product over real HTTP and WebSockets."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.servers import DaphneServer, LocalModelServer, database_url, free_port


@pytest.fixture
def live_daphne(transactional_db: None, chat_model: LocalModelServer) -> Iterator[DaphneServer]:
    """daphne on a free port, on this test's database (committed rows only) and the session's real local model.

    Stopped before the database is flushed: tests that need `transaction=True` rows see what daphne wrote.
    """
    server = DaphneServer(database=database_url(connection.settings_dict), ollama_host=chat_model.url)
    yield server
    server.stop()


@pytest.fixture
def daphne_without_model(transactional_db: None, tmp_path: Path) -> Iterator[DaphneServer]:
    """daphne on this test's database and storage, for tests that never generate: no model behind it (the Ollama
    host is a closed port) and ingestion tasks left queued rather than run inside the server."""
    server = DaphneServer(
        database=database_url(connection.settings_dict),
        ollama_host=f"http://127.0.0.1:{free_port()}",
        env={"Q_SYNC": "false", "MEDIA_ROOT": str(tmp_path / "media"), "RAG_INDEX_DIR": str(tmp_path / "indexes")},
    )
    yield server
    server.stop()
