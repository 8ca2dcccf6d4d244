"""Chat reads. Every lookup that takes `user` scopes to that user: missing and not-yours are one NotFound."""

from typing import cast

from django.db.models import Q, QuerySet

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.core.errors import NotFound
from realtime_chat.llm.types import ChatMessage, Role


def session_get(*, user: User, session_id: int) -> ChatSession:
    session = ChatSession.objects.filter(pk=session_id, owner=user).first()
    if session is None:
        raise NotFound("Chat session not found.")
    return session


def session_list(*, user: User, archived: bool | None = None) -> QuerySet[ChatSession]:
    sessions = ChatSession.objects.filter(owner=user)
    if archived is not None:
        sessions = sessions.filter(archived=archived)
    return sessions.order_by("-updated_at", "-id")


def message_list(*, session: ChatSession, newest_first: bool = False) -> QuerySet[Message]:
    """Messages of a session the caller already fetched through `session_get` (so already scoped), in the order
    they were written or, with `newest_first`, the reverse (the API pages in the order given here)."""
    return session.messages.order_by(*(("-created_at", "-id") if newest_first else ("created_at", "id")))


def message_history(*, session: ChatSession, before_id: int, limit: int = 40) -> list[ChatMessage]:
    """The finished turns before a message, oldest first, for the prompt (failed and empty answers left out).

    Only role and text: read on every turn, and building 40 model instances was most of its cost (measured)."""
    recent = (
        session.messages.filter(id__lt=before_id)
        .exclude(role=Message.Role.ASSISTANT, status=Message.Status.ERROR)
        .exclude(content="")
        .order_by("-id")
        .values_list("role", "content")[:limit]
    )
    # The column's choices are the model's roles, so each value is a `Role`.
    return [ChatMessage(role=cast(Role, role), content=content) for role, content in reversed(recent)]


def message_search(*, user: User, query: str, limit: int = 50) -> QuerySet[Message]:
    return (
        Message.objects.filter(session__owner=user)
        .filter(Q(content__icontains=query) | Q(session__title__icontains=query))
        .select_related("session")
        .order_by("-created_at", "-id")[:limit]
    )
