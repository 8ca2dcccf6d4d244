"""Housekeeping run by a periodic job: chat history past its retention period.

History retention, per user: `UserPreferences.history_retention_days` when set (0 = keep forever), otherwise the
global `CHAT_HISTORY_RETENTION_DAYS` (0, the default, = keep forever). Messages older than the cut-off are deleted;
a session goes too once it has no messages left and nothing touched it since the cut-off, so a session that still
has newer messages keeps its row (and its title). A session with a generation in progress is never touched.
Deletes run in batches of short statements, so a large backlog never holds long locks.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from realtime_chat.chat.models import ChatSession, Message, UserPreferences
from realtime_chat.core.batches import delete_in_batches

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
        cut_off = now - timedelta(days=cast(int, days))  # gt=0 left out the NULLs the column's type allows
        rules.append((Q(owner__preferences__history_retention_days=days), cut_off))
    return rules


def chat_history_delete_expired(*, batch_size: int = BATCH_SIZE) -> HistoryDeleted:
    """Idempotent: a second run right after the first finds nothing to delete."""
    now = timezone.now()
    messages = sessions = 0
    for owners, cutoff in _retention_rules(now):
        idle_sessions = ChatSession.objects.filter(owners, generating_since__isnull=True)
        old_messages = Message.objects.filter(session__in=idle_sessions, created_at__lt=cutoff)
        messages += delete_in_batches(old_messages, batch_size)
        emptied = idle_sessions.filter(updated_at__lt=cutoff, messages__isnull=True)
        sessions += delete_in_batches(emptied, batch_size)
    if messages or sessions:
        logger.info("Chat history retention deleted %d messages and %d sessions", messages, sessions)
    return HistoryDeleted(messages=messages, sessions=sessions)
