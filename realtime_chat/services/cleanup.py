"""Housekeeping writes run by the periodic jobs: chat history past its retention period, expired refresh tokens.

History retention, per user: `UserPreferences.history_retention_days` when set (0 = keep forever), otherwise the
global `CHAT_HISTORY_RETENTION_DAYS` (0, the default, = keep forever). Messages older than the cut-off are deleted;
a session goes too once it has no messages left and nothing touched it since the cut-off, so a session that still
has newer messages keeps its row (and its title). A session with a generation in progress is never touched.
Deletes run in batches of short statements, so a large backlog never holds long locks.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from realtime_chat.models import ChatSession, Message, UserPreferences

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass(frozen=True)
class HistoryDeleted:
    messages: int
    sessions: int


def history_retention_days_global() -> int:
    return settings.CHAT_HISTORY_RETENTION_DAYS


def _retention_rules(now: datetime) -> list[tuple[Q, datetime]]:
    """(filter on ChatSession owners, cut-off) pairs: the global period, then one per distinct per-user period."""
    rules = []
    global_days = history_retention_days_global()
    if global_days > 0:
        # A missing preferences row reads as NULL through the outer join: those users follow the global period too.
        rules.append((Q(owner__preferences__history_retention_days__isnull=True), now - timedelta(days=global_days)))
    own_periods = (
        UserPreferences.objects.filter(history_retention_days__gt=0)
        .order_by()
        .values_list("history_retention_days", flat=True)
        .distinct()
    )
    for days in own_periods:
        rules.append((Q(owner__preferences__history_retention_days=days), now - timedelta(days=days)))
    return rules


def chat_history_delete_expired(*, batch_size: int = BATCH_SIZE) -> HistoryDeleted:
    """Idempotent: a second run right after the first finds nothing to delete."""
    now = timezone.now()
    messages = sessions = 0
    for owners, cutoff in _retention_rules(now):
        idle_sessions = ChatSession.objects.filter(owners, generating_since__isnull=True)
        old_messages = Message.objects.filter(session__in=idle_sessions, created_at__lt=cutoff)
        messages += _delete_in_batches(old_messages, batch_size)
        emptied = idle_sessions.filter(updated_at__lt=cutoff, messages__isnull=True)
        sessions += _delete_in_batches(emptied, batch_size)
    if messages or sessions:
        logger.info("Chat history retention deleted %d messages and %d sessions", messages, sessions)
    return HistoryDeleted(messages=messages, sessions=sessions)


def _delete_in_batches(queryset: QuerySet, batch_size: int) -> int:
    """Delete what `queryset` matches, `batch_size` rows per statement; returns the rows of its own model deleted.

    Each batch deletes through `queryset` again, so its conditions (no generation in progress) are re-checked by the
    DELETE itself, not only by the earlier SELECT.
    """
    model: type[Model] = queryset.model
    total = 0
    while ids := list(queryset.values_list("pk", flat=True)[:batch_size]):
        _, per_model = queryset.filter(pk__in=ids).delete()
        deleted = per_model.get(model._meta.label, 0)
        if not deleted:
            break  # everything selected changed in between; the next run picks up what is still due
        total += deleted
    return total


def refresh_tokens_flush_expired(*, batch_size: int = BATCH_SIZE) -> int:
    """Delete expired refresh tokens, blacklisted or not (their blacklist rows go with them by cascade).

    A blacklisted token that has not expired stays: without its row it would be accepted again.
    """
    expired = OutstandingToken.objects.filter(expires_at__lte=timezone.now())
    deleted = _delete_in_batches(expired, batch_size)
    if deleted:
        logger.info("Flushed %d expired refresh tokens", deleted)
    return deleted
