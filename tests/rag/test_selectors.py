"""Which documents a user's chat may search: the cheap check a chat turn makes before retrieving."""

import pytest

from rag.models import Document
from rag.selectors import document_ids_searchable, documents_searchable_exist
from realtime_chat.accounts.models import User
from tests.rag.factories import document_upload

pytestmark = pytest.mark.django_db


def upload(user: User, name: str, *, status: str, scope: str = "private") -> Document:
    """A stored document in `status` (its ingestion is not run: the state is what these selectors read)."""
    document = document_upload(user=user, name=name, content=f"Text of {name}.", scope=scope)
    Document.objects.filter(pk=document.pk).update(status=status)
    return document


def test_no_documents_means_nothing_to_search(user) -> None:
    assert not documents_searchable_exist(user=user)


@pytest.mark.parametrize("status", [Document.Status.PENDING, Document.Status.PROCESSING, Document.Status.FAILED])
def test_documents_not_ready_are_not_searchable(user, status) -> None:
    upload(user, "mine.txt", status=status)
    assert not documents_searchable_exist(user=user)


def test_a_ready_document_of_my_own_is_searchable(user) -> None:
    upload(user, "mine.txt", status=Document.Status.READY)
    assert documents_searchable_exist(user=user)


def test_anothers_private_document_is_not_mine_to_search(user, stranger) -> None:
    upload(stranger, "theirs.txt", status=Document.Status.READY)
    assert not documents_searchable_exist(user=user)


def test_a_shared_document_is_searchable_by_everyone(user, stranger) -> None:
    stranger.is_staff = True  # only staff may share
    stranger.save()
    upload(stranger, "shared.txt", status=Document.Status.READY, scope=Document.Scope.SHARED)
    assert documents_searchable_exist(user=user)


def test_the_check_agrees_with_the_retrievers_scope(user, stranger) -> None:
    for name, status in [("a.txt", Document.Status.READY), ("b.txt", Document.Status.PENDING)]:
        upload(user, name, status=status)
    upload(stranger, "c.txt", status=Document.Status.READY)
    assert documents_searchable_exist(user=user) == bool(document_ids_searchable(user=user))
    assert documents_searchable_exist(user=stranger) == bool(document_ids_searchable(user=stranger))
