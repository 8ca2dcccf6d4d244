"""Persona reads, scoped: a user sees their own personas and the shared ones; anything else is NotFound."""

from django.db.models import Case, Q, QuerySet, Value, When

from realtime_chat.accounts.models import User
from realtime_chat.core.errors import Forbidden, NotFound
from realtime_chat.personas.models import Persona


def _visible_to(user: User) -> Q:
    return Q(owner=user) | Q(shared=True)


def persona_list(*, user: User) -> QuerySet[Persona]:
    """The user's own personas first, then the shared ones, each by name."""
    return (
        Persona.objects.filter(_visible_to(user))
        .select_related("owner")
        .annotate(mine=Case(When(owner=user, then=Value(1)), default=Value(0)))
        .order_by("-mine", "name", "id")
    )


def persona_get(*, user: User, persona_id: int) -> Persona:
    """A persona `user` may use: theirs, or a shared one. Missing and another user's private one are one 404."""
    persona = Persona.objects.filter(_visible_to(user), pk=persona_id).select_related("owner").first()
    if persona is None:
        raise NotFound("Persona not found.")
    return persona


def persona_get_owned(*, user: User, persona_id: int) -> Persona:
    """A persona `user` may change: only its owner; a shared persona of someone else is seen but refused (403)."""
    persona = persona_get(user=user, persona_id=persona_id)
    if persona.owner_id != user.pk:
        raise Forbidden("Only the persona's owner may change it.")
    return persona
