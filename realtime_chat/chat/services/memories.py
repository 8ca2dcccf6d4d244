"""The chat side of memory: a message that says "remember ...", the memories a turn's prompt carries, and the
facts the model proposes after an answer (saved only once the user accepts them)."""

import asyncio
import logging
import re
from contextlib import aclosing

from realtime_chat.accounts.models import User
from realtime_chat.chat import frames
from realtime_chat.chat.frames import ErrorFrame, MemorySavedFrame
from realtime_chat.chat.services.chat import preferences_get
from realtime_chat.chat.services.personas import TurnSettings
from realtime_chat.core.errors import ApplicationError
from realtime_chat.llm.factory import build_chain
from realtime_chat.llm.types import ChatMessage, GenerationOptions, Token
from realtime_chat.memory.models import CONTENT_MAX_CHARS, Memory
from realtime_chat.memory.recall import memory_recall
from realtime_chat.memory.selectors import memory_exists
from realtime_chat.memory.services import memory_command_fact, memory_create

logger = logging.getLogger(__name__)
PROPOSALS_MAX = 3
PROPOSALS_MAX_TOKENS = 80
PROPOSALS_TIMEOUT_SECONDS = 60.0
PROPOSAL_INSTRUCTIONS = (
    "List facts about the user worth remembering in later chats (preferences, their work, their situation), "
    "taken only from the user's message below, one short sentence per line, each starting with '- '. "
    "If there is none, answer NONE."
)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def remember_from_message(*, user: User, session_id: int, content: str) -> MemorySavedFrame | ErrorFrame | None:
    """Save the fact a "remember ..." message states; the frame (for the asker only) says what was saved or why
    not. None when the message asks nothing of the kind."""
    fact = memory_command_fact(content)
    if fact is None:
        return None
    if not preferences_get(user=user).memory_enabled:
        return frames.error(code="memory_disabled", detail="Memory is off, so nothing was saved. Turn it on in Memory.")
    try:
        memory = memory_create(user=user, content=fact, source_session=session_id)
    except ApplicationError as exc:  # empty, too long, or the user's memory is full
        return frames.error_from(exc)
    except Exception:  # the question is saved and must still be answered: logged, and told
        logger.exception("Saving a memory from session %s failed", session_id)
        return frames.error(code="memory_failed", detail="The memory could not be saved. Please add it in Memory.")
    return frames.memory_saved(memory=memory_data(memory))


def memory_data(memory: Memory) -> frames.MemoryData:
    return {
        "id": memory.pk,
        "content": memory.content,
        "source_session": memory.source_session,
        "created_at": memory.created_at.isoformat(),
    }


def memories_for_turn(*, user: User, settings: TurnSettings, question: str) -> list[Memory]:
    """The asker's memories most relevant to the question (in a room too: only the asker's own)."""
    if not settings.memory_enabled or not memory_exists(user=user):
        return []
    return memory_recall(user=user, question=question)


async def memory_proposals(*, question: str, model: str | None) -> list[str]:
    """Facts the model finds in the user's message, for the user to accept or ignore; [] if it found none or
    failed (a proposal is a suggestion: its failure never touches the answer, which is already saved)."""
    prompt = [ChatMessage(role="system", content=PROPOSAL_INSTRUCTIONS), ChatMessage(role="user", content=question)]
    options = GenerationOptions(model=model, temperature=0.0, top_p=1.0, max_tokens=PROPOSALS_MAX_TOKENS)
    parts: list[str] = []
    try:
        async with asyncio.timeout(PROPOSALS_TIMEOUT_SECONDS):
            async with aclosing(build_chain(preferred_model=model).stream(prompt, options)) as events:
                async for event in events:
                    if isinstance(event, Token):
                        parts.append(event.delta)
    except Exception:  # logged; the user simply gets no proposal
        logger.warning("Memory proposals failed", exc_info=True)
        return []
    return proposals_parse("".join(parts))


def proposals_parse(text: str) -> list[str]:
    """At most PROPOSALS_MAX distinct short facts: the bulleted lines, or, from a model that wrote none (the
    bundled small model answers with a plain sentence), its plain lines; "NONE", questions and headings dropped."""
    lines = [line for line in text.splitlines() if line.strip()]
    bulleted = [line for line in lines if _BULLET.match(line)]
    found: list[str] = []
    for line in bulleted or lines:
        fact = " ".join(_BULLET.sub("", line, count=1).split())
        if _is_fact(fact) and fact not in found:
            found.append(fact)
    return found[:PROPOSALS_MAX]


def _is_fact(text: str) -> bool:
    return 3 <= len(text) <= CONTENT_MAX_CHARS and text.strip(".").upper() != "NONE" and not text.endswith(("?", ":"))
