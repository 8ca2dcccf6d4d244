"""A user's effective budgets and quotas: their admin-set overrides, else the site-wide settings (0 = unlimited).

Read by the chat turn (token budget) and by document upload (quotas), so it lives below both."""

from dataclasses import dataclass

from django.conf import settings

from realtime_chat.accounts.models import UsageLimits, User
from realtime_chat.core.compiled_queries import CompiledQuery


@dataclass(frozen=True)
class Limits:
    daily_token_budget: int
    max_documents: int
    max_bytes: int


def limits_get(*, user: User) -> Limits:
    """Read on every chat turn (the token budget), so from SQL compiled once."""
    budget, documents, size = _overrides_of.first(user_id=user.pk) or (None, None, None)  # no row: no override

    def pick(value: int | None, default: int) -> int:
        return default if value is None else value

    return Limits(
        daily_token_budget=pick(budget, settings.CHAT_DAILY_TOKEN_BUDGET),
        max_documents=pick(documents, settings.RAG_MAX_DOCUMENTS_PER_USER),
        max_bytes=pick(size, settings.RAG_MAX_BYTES_PER_USER),
    )


_overrides_of = CompiledQuery(
    lambda user_id: UsageLimits.objects.filter(user_id=user_id).values_list(
        "daily_token_budget", "max_documents", "max_bytes"
    )
)
