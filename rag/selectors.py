"""Reads of documents, always scoped to a user: their own documents plus shared ones."""

from django.db.models import Q, QuerySet

from rag.models import Document
from realtime_chat.accounts.models import User
from realtime_chat.core.compiled_queries import CompiledQuery
from realtime_chat.core.errors import NotFound


def _visible(user: User | int) -> Q:
    return Q(owner=user) | Q(scope=Document.Scope.SHARED)


def document_list(*, user: User) -> QuerySet[Document]:
    return Document.objects.filter(_visible(user))


def document_get(*, user: User, pk: int) -> Document:
    """A document the user may read. Missing and not-visible are the same 404."""
    document = document_list(user=user).filter(pk=pk).first()
    if document is None:
        raise NotFound("Document not found.")
    return document


def document_get_owned(*, user: User, pk: int) -> Document:
    """A document the user may change (delete, reindex): only their own. Others' are a 404, shared or not."""
    document = Document.objects.filter(owner=user, pk=pk).first()
    if document is None:
        raise NotFound("Document not found.")
    return document


def document_ids_searchable(*, user: User) -> list[int]:
    """The ready documents whose chunks the retriever may return to `user`."""
    return list(_searchable(user).order_by().values_list("id", flat=True))  # a set: no sort


def documents_searchable_exist(*, user: User) -> bool:
    """Whether `user` has any document the retriever could search: one cheap query, so a chat turn can skip
    retrieval (and embedding the question) when the answer would be nothing. Compiled once: asked every turn."""
    return user.is_authenticated and _searchable_documents.exists(user_id=user.pk)


def _searchable(user: User) -> QuerySet[Document]:
    if not user.is_authenticated:
        return Document.objects.none()
    return _ready_and_visible(user.pk)


def _ready_and_visible(user_id: int) -> QuerySet[Document]:
    return Document.objects.filter(_visible(user_id), status=Document.Status.READY)


_searchable_documents = CompiledQuery(_ready_and_visible)
