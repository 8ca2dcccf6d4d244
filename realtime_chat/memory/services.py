"""Memory writes. A memory is embedded when it is saved, so recall at each turn only embeds the question."""

import re

from django.db import transaction

from realtime_chat.accounts.models import User
from realtime_chat.core.errors import ApplicationError, Conflict
from realtime_chat.memory.models import CONTENT_MAX_CHARS, Memory
from realtime_chat.memory.vectors import embedding_model_key, vectors_for

MAX_MEMORIES_PER_USER = 200  # recall scores all of a user's memories at each turn: a small index, kept small
# "remember that I prefer metric units", "Remember: ...", "/remember ...": the fact is what follows.
_COMMAND = re.compile(r"^\s*(?:/remember\b|remember\b(?:\s+that\b)?)[\s:,-]*", re.IGNORECASE)


class MemoryInvalid(ApplicationError):
    code = "invalid_memory"


class MemoryFull(Conflict):
    code = "memory_full"


def memory_command_fact(text: str) -> str | None:
    """The fact a chat message asks to remember, or None if it asks nothing of the kind.

    `/remember ...` always saves; a message that merely starts with "remember" saves unless it is a question
    ("Remember when we ...?"), which is talk about the past, not a fact to keep.
    """
    match = _COMMAND.match(text)
    if match is None:
        return None
    if not text.lstrip().startswith("/") and text.rstrip().endswith("?"):
        return None
    fact = text[match.end() :].strip()
    return fact or None


def memory_create(*, user: User, content: str, source_session: int | None = None) -> Memory:
    content = _clean(content)
    with transaction.atomic():
        # The user's row is locked first (PostgreSQL), so two saves at once cannot both pass the cap.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if Memory.objects.filter(user=user).count() >= MAX_MEMORIES_PER_USER:
            raise MemoryFull(f"You have {MAX_MEMORIES_PER_USER} memories, the most kept. Delete some first.")
        vector = vectors_for([content])[0]
        return Memory.objects.create(
            user=user,
            content=content,
            source_session=source_session,
            embedding_model=embedding_model_key(),
            vector=vector.tobytes(),
        )


def memory_update(*, memory: Memory, content: str) -> Memory:
    memory.content = _clean(content)
    memory.vector = vectors_for([memory.content])[0].tobytes()
    memory.embedding_model = embedding_model_key()
    memory.save()
    return memory


def memory_delete(*, memory: Memory) -> None:
    """Gone from recall at once: the per-user index is read from these rows at every turn."""
    memory.delete()


def _clean(content: str) -> str:
    content = " ".join(content.split())
    if not content:
        detail = "A memory cannot be empty."
        raise MemoryInvalid(detail, extra={"errors": {"content": [detail]}})
    if len(content) > CONTENT_MAX_CHARS:
        raise MemoryInvalid(f"A memory is at most {CONTENT_MAX_CHARS} characters; this one has {len(content)}.")
    return content
