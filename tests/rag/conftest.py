"""RAG fixtures: every test gets its own index directory and media root, and a way to ingest for real."""

from collections.abc import Callable

import pytest

from rag.models import Document
from realtime_chat.accounts.models import User
from tests.rag.factories import document_upload


@pytest.fixture(autouse=True)
def _isolated(isolated_rag_storage: None) -> None:
    """Every RAG test gets its own storage (tests/conftest.py)."""


@pytest.fixture
def ingest(django_capture_on_commit_callbacks) -> Callable[..., Document]:
    """Upload through the service and run the queued ingestion task (django-q sync mode) to completion."""

    def run(*, user: User, name: str, content: bytes | str, title: str = "", scope: str = "private") -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            document = document_upload(user=user, name=name, content=content, title=title, scope=scope)
        document.refresh_from_db()
        return document

    return run
