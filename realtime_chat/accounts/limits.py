"""A user's effective budgets and quotas: their admin-set overrides, else the site-wide settings (0 = unlimited).

Read by the chat turn (token budget) and by document upload (quotas), so it lives below both."""

from dataclasses import dataclass

from django.conf import settings

from realtime_chat.accounts.models import UsageLimits, User


@dataclass(frozen=True)
class Limits:
    daily_token_budget: int
    max_documents: int
    max_bytes: int


def limits_get(*, user: User) -> Limits:
    override = UsageLimits.objects.filter(user=user).first() or UsageLimits(user=user)  # unsaved: no override

    def pick(value: int | None, default: int) -> int:
        return default if value is None else value

    return Limits(
        daily_token_budget=pick(override.daily_token_budget, settings.CHAT_DAILY_TOKEN_BUDGET),
        max_documents=pick(override.max_documents, settings.RAG_MAX_DOCUMENTS_PER_USER),
        max_bytes=pick(override.max_bytes, settings.RAG_MAX_BYTES_PER_USER),
    )
