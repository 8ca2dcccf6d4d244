"""A session's persona: set by its owner, and merged over the asker's preferences for every turn in it."""

from dataclasses import dataclass
from typing import TypeVar

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, UserPreferences
from realtime_chat.core.errors import ApplicationError, NotFound
from realtime_chat.personas.models import Persona
from realtime_chat.personas.selectors import persona_get

T = TypeVar("T")


@dataclass(frozen=True)
class TurnSettings:
    """What one turn is generated with: the asker's preferences, each overridden by the session's persona where
    the persona sets it. Read like `UserPreferences` by the turn (same attribute names)."""

    model: str
    temperature: float
    top_p: float
    max_tokens: int
    system_prompt: str
    use_rag: bool
    rag_top_k: int
    memory_enabled: bool
    memory_auto: bool
    persona_id: int | None = None
    persona_name: str = ""


def turn_settings(*, preferences: UserPreferences, persona: Persona | None) -> TurnSettings:
    settings = TurnSettings(
        model=preferences.model,
        temperature=preferences.temperature,
        top_p=preferences.top_p,
        max_tokens=preferences.max_tokens,
        system_prompt=preferences.system_prompt,
        use_rag=preferences.use_rag,
        rag_top_k=preferences.rag_top_k,
        memory_enabled=preferences.memory_enabled,
        memory_auto=preferences.memory_auto,
    )
    if persona is None:
        return settings
    return TurnSettings(
        model=persona.model or settings.model,
        temperature=_either(persona.temperature, settings.temperature),
        top_p=_either(persona.top_p, settings.top_p),
        max_tokens=_either(persona.max_tokens, settings.max_tokens),
        system_prompt=persona.system_prompt,  # the persona is who answers: the user's own prompt does not apply
        use_rag=_either(persona.use_rag, settings.use_rag),
        rag_top_k=_either(persona.rag_top_k, settings.rag_top_k),
        memory_enabled=settings.memory_enabled,
        memory_auto=settings.memory_auto,
        persona_id=persona.pk,
        persona_name=persona.name,
    )


def _either(override: T | None, default: T) -> T:
    return default if override is None else override


def persona_for_session(*, user: User, persona_id: int | None) -> Persona | None:
    """The persona `user` asks a session to answer with (None: their own preferences). One they cannot use is bad
    input (400 with a field error), not a missing session."""
    if persona_id is None:
        return None
    try:
        return persona_get(user=user, persona_id=persona_id)
    except NotFound as exc:
        detail = f"There is no persona {persona_id} you can use."
        raise ApplicationError(detail, extra={"errors": {"persona": [detail]}}) from exc


def session_persona_set(*, session: ChatSession, persona: Persona | None) -> ChatSession:
    """Answer with `persona` from the next turn on; turns already streaming keep the one they began with."""
    session.persona = persona
    session.save(update_fields=["persona", "updated_at"])
    return session


def session_persona(*, session: ChatSession) -> Persona | None:
    """The persona the session answers with; one the owner could no longer use (unshared since) is ignored."""
    persona = session.persona
    if persona is None or persona.shared or persona.owner_id == session.owner_id:
        return persona
    return None
