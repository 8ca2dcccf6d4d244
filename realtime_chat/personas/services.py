"""Persona writes. Only staff publish a shared persona; a persona is validated like the preferences it overrides."""

from typing import Any

from django.db import IntegrityError, transaction

from realtime_chat.accounts.models import User
from realtime_chat.core.errors import Conflict, Forbidden
from realtime_chat.personas.models import Persona

EDITABLE_FIELDS = (
    "name", "description", "system_prompt", "model", "temperature", "top_p", "max_tokens", "use_rag", "rag_top_k",
    "shared",
)  # fmt: skip


def _check_may_share(*, user: User, shared: bool | None) -> None:
    if shared and not user.is_staff:
        raise Forbidden("Only staff may share a persona with every user.")


def persona_create(*, user: User, **fields: Any) -> Persona:
    _check_may_share(user=user, shared=fields.get("shared"))
    persona = Persona(owner=user, **{key: value for key, value in fields.items() if key in EDITABLE_FIELDS})
    return _save(persona)


def persona_update(*, persona: Persona, user: User, **changes: Any) -> Persona:
    _check_may_share(user=user, shared=changes.get("shared"))
    for field, value in changes.items():
        if field in EDITABLE_FIELDS:
            setattr(persona, field, value)
    return _save(persona)


def persona_delete(*, persona: Persona) -> None:
    """Sessions that answered with it go back to their owner's preferences; past answers keep its name."""
    persona.delete()


def _save(persona: Persona) -> Persona:
    persona.name = persona.name.strip()
    persona.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            persona.save()
    except IntegrityError as exc:
        raise Conflict(f"You already have a persona named {persona.name!r}.") from exc
    return persona
