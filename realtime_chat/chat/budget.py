"""The daily token budget: what one user's answers cost today (prompt + completion tokens, UTC day), and the
refusal of a turn once it is spent. Checked before the model is called, so a refused turn costs no tokens."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from realtime_chat.accounts.limits import limits_get
from realtime_chat.accounts.models import User
from realtime_chat.chat.frames import ErrorFrame
from realtime_chat.chat.models import Message
from realtime_chat.core.errors import ApplicationError


class BudgetExceeded(ApplicationError):
    """The user's tokens for today are spent; `resets_at` says when the next day's budget starts."""

    status_code = 429
    code = "budget_exceeded"

    @classmethod
    def of(cls, budget: "TokenBudget") -> "BudgetExceeded":
        detail = f"You have used your {budget.limit} tokens for today. It resets at {budget.resets_at:%H:%M} UTC."
        extra = {"limit": budget.limit, "used": budget.used, "resets_at": budget.resets_at.isoformat()}
        return cls(detail, extra=extra)

    @classmethod
    def from_frame(cls, frame: ErrorFrame) -> "BudgetExceeded":
        """The refusal as the turn reported it (after `message.created`: the question is saved), to raise again."""
        return cls(frame["detail"], extra={"resets_at": frame.get("resets_at", "")})


@dataclass(frozen=True)
class TokenBudget:
    limit: int  # 0: unlimited
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int | None:
        """None when unlimited."""
        return None if self.limit == 0 else max(0, self.limit - self.used)


def day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def tokens_used(*, user: User, since: datetime) -> int:
    """Tokens of the answers to `user`'s questions since `since` (an indexed range: asked_by, created_at)."""
    spent = Message.objects.filter(asked_by=user, created_at__gte=since).aggregate(
        total=Coalesce(Sum(Coalesce(F("prompt_tokens"), 0) + Coalesce(F("completion_tokens"), 0)), 0)
    )
    return int(spent["total"])


def token_budget_get(*, user: User, now: datetime | None = None) -> TokenBudget:
    start = day_start(now or timezone.now())
    limit = limits_get(user=user).daily_token_budget
    return TokenBudget(limit=limit, used=tokens_used(user=user, since=start), resets_at=start + timedelta(days=1))


def token_budget_check(*, user: User) -> None:
    """Raise BudgetExceeded once today's tokens reached the budget. The turn that crosses it is not cut short: a
    budget is a daily allowance, not a hard cap on one answer (that is `max_tokens`). Unlimited: no query."""
    if limits_get(user=user).daily_token_budget == 0:
        return
    budget = token_budget_get(user=user)
    if budget.remaining == 0:
        raise BudgetExceeded.of(budget)
