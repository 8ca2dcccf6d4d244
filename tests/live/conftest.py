"""A real daphne serving the test database, for tests that drive the product over real HTTP and WebSockets."""

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.servers import DaphneServer, LocalModelServer, database_url


@pytest.fixture
def live_daphne(transactional_db: None, chat_model: LocalModelServer) -> Iterator[DaphneServer]:
    """daphne on a free port, on this test's database (committed rows only) and the session's real local model.

    Stopped before the database is flushed: tests that need `transaction=True` rows see what daphne wrote.
    """
    server = DaphneServer(database=database_url(connection.settings_dict), ollama_host=chat_model.url)
    yield server
    server.stop()
