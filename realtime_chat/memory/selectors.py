"""Memory reads, scoped to their user: another user's memory is the same NotFound as a missing one."""

from typing import TypedDict

from django.db.models import QuerySet

from realtime_chat.accounts.models import User
from realtime_chat.core.compiled_queries import CompiledQuery
from realtime_chat.core.errors import NotFound
from realtime_chat.memory.models import Memory


class MemoryExport(TypedDict):
    id: int
    content: str
    source_session: int | None
    created_at: str


def memory_list(*, user: User) -> QuerySet[Memory]:
    return Memory.objects.filter(user=user).order_by("-created_at", "-id")


def memory_get(*, user: User, memory_id: int) -> Memory:
    memory = Memory.objects.filter(user=user, pk=memory_id).first()
    if memory is None:
        raise NotFound("Memory not found.")
    return memory


def memory_exists(*, user: User) -> bool:
    """Whether recall can find anything: without a memory, a turn skips embedding its question for it. Asked on
    every turn, so compiled once."""
    return _memories_of.exists(user_id=user.pk)


_memories_of = CompiledQuery(lambda user_id: Memory.objects.filter(user_id=user_id))


def memory_export(*, user: User) -> list[MemoryExport]:
    """Everything memory holds about the user, for their data export (vectors are derived, so left out)."""
    return [
        MemoryExport(
            id=memory.pk,
            content=memory.content,
            source_session=memory.source_session,
            created_at=memory.created_at.isoformat(),
        )
        for memory in memory_list(user=user)
    ]
