"""Chat reads. Every lookup that takes `user` scopes to what that user may see, their own sessions and those
they are a member or viewer of: missing and not-yours are one NotFound."""

import functools
from dataclasses import dataclass
from typing import Any, Literal, cast

from django.db import connection
from django.db.models import Field, Model, Q, QuerySet

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message, SessionMember
from realtime_chat.core.compiled_queries import CompiledQuery
from realtime_chat.core.errors import Forbidden, NotFound
from realtime_chat.core.keys import fits_the_key
from realtime_chat.llm.types import ChatMessage, Role

SessionRole = Literal["owner", "member", "viewer"]


@dataclass(frozen=True)
class SessionAccess:
    session: ChatSession
    role: SessionRole
    shared: bool  # the session has members besides its owner (a room)

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"


def _visible_to(user: User) -> Q:
    return Q(owner=user) | Q(members__user=user)


def session_access(*, user: User, session_id: int) -> SessionAccess:
    """The session and what `user` is in it; NotFound if they are nothing in it (or it does not exist).

    One hand-written query: every chat turn and every session endpoint starts here, and built by the ORM (two
    subqueries) it was a quarter of a turn's opening under cProfile."""
    session = None  # an id beyond the key column's range has no row (the ORM says so; a raw query would overflow)
    if fits_the_key(ChatSession, session_id):
        session = next(iter(ChatSession.objects.raw(_session_access_sql(), [user.pk, session_id])), None)
    if session is not None:
        annotated: Any = session
        shared = bool(annotated.shared)  # SQLite answers EXISTS with 0 or 1
        if session.owner_id == user.pk:
            return SessionAccess(session, "owner", shared)
        if annotated.member_role is not None:
            return SessionAccess(session, cast(SessionRole, annotated.member_role), shared)
    raise NotFound("Chat session not found.")


@functools.cache
def _session_access_sql() -> str:
    """Built once, from the models' own table and column names (quoted); the values are parameters."""
    quote = connection.ops.quote_name
    sessions, members = quote(ChatSession._meta.db_table), quote(SessionMember._meta.db_table)
    session_id, user_id, role = (quote(_column(SessionMember, name)) for name in ("session", "user", "role"))
    pk = quote(_column(ChatSession, "id"))
    # Identifiers from the models, quoted; no value is interpolated.
    return (
        f"SELECT s.*, EXISTS (SELECT 1 FROM {members} m WHERE m.{session_id} = s.{pk}) AS shared, "  # noqa: S608
        f"(SELECT m.{role} FROM {members} m WHERE m.{session_id} = s.{pk} AND m.{user_id} = %s LIMIT 1) "
        f"AS member_role FROM {sessions} s WHERE s.{pk} = %s"
    )


def _column(model: type[Model], name: str) -> str:
    return cast(Field, model._meta.get_field(name)).column


def session_get(*, user: User, session_id: int) -> ChatSession:
    """A session `user` may read: their own, or one they are a member or viewer of."""
    return session_access(user=user, session_id=session_id).session


def session_get_owned(*, user: User, session_id: int) -> ChatSession:
    """A session `user` may change (rename, delete, manage members): only its owner may; a member is refused
    (403), anyone else gets the NotFound of a session that does not exist."""
    access = session_access(user=user, session_id=session_id)
    if access.role != "owner":
        raise Forbidden("Only the session's owner may do that.")
    return access.session


def session_list(*, user: User, archived: bool | None = None) -> QuerySet[ChatSession]:
    sessions = ChatSession.objects.filter(_visible_to(user)).distinct().select_related("owner")
    if archived is not None:
        sessions = sessions.filter(archived=archived)
    return sessions.order_by("-updated_at", "-id")


def message_list(*, session: ChatSession, newest_first: bool = False) -> QuerySet[Message]:
    """Messages of a session the caller already fetched through `session_get` (so already scoped), in the order
    they were written or, with `newest_first`, the reverse (the API pages in the order given here)."""
    ordering = ("-created_at", "-id") if newest_first else ("created_at", "id")
    return session.messages.select_related("author").prefetch_related("attachments").order_by(*ordering)


HISTORY_MESSAGES = 40  # the most a prompt starts from; the prompt builder drops the oldest beyond its budget


def message_history(*, session: ChatSession, before_id: int, named: bool = False) -> list[ChatMessage]:
    """The finished turns before a message, oldest first, for the prompt (failed and empty answers left out).
    `named`: each person's message starts with their name, so the model can tell the speakers of a room apart.

    Only role and text, from SQL compiled once: read on every turn, it cost a turn's opening 0.57 ms built by the
    ORM and 0.05 ms run compiled (measured)."""
    recent = _recent_messages.rows(session_id=session.pk, before_id=before_id)
    # The column's choices are the model's roles, so each value is a `Role`.
    return [
        ChatMessage(role=cast(Role, role), content=speaker_named(content, author) if named else content)
        for role, content, author in reversed(recent)
    ]


_recent_messages = CompiledQuery(
    lambda session_id, before_id: (
        Message.objects.filter(session_id=session_id, id__lt=before_id)
        .exclude(role=Message.Role.ASSISTANT, status=Message.Status.ERROR)
        .exclude(content="")
        .order_by("-id")
        .values_list("role", "content", "author__username")[:HISTORY_MESSAGES]
    )
)


def speaker_named(content: str, author: str | None) -> str:
    return f"{author}: {content}" if author else content


def member_list(*, session: ChatSession) -> list[tuple[str, str]]:
    """(username, role) of everyone in the session, the owner first, then members in the order they joined."""
    members = SessionMember.objects.filter(session=session).order_by("created_at", "id")
    owner = ChatSession.objects.filter(pk=session.pk).values_list("owner__username", flat=True).get()
    return [(owner, "owner"), *members.values_list("user__username", "role")]


def session_usernames(*, session: ChatSession) -> set[str]:
    return {username for username, _ in member_list(session=session)}


def message_search(*, user: User, query: str, limit: int = 50) -> QuerySet[Message]:
    return (
        Message.objects.filter(session__in=ChatSession.objects.filter(_visible_to(user)))
        .filter(Q(content__icontains=query) | Q(session__title__icontains=query))
        .select_related("session", "author")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")[:limit]
    )
