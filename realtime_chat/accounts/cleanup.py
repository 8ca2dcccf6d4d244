"""Housekeeping run by a periodic job: expired refresh tokens."""

import logging

from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from realtime_chat.core.batches import delete_in_batches

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def refresh_tokens_flush_expired(*, batch_size: int = BATCH_SIZE) -> int:
    """Delete expired refresh tokens, blacklisted or not (their blacklist rows go with them by cascade).

    A blacklisted token that has not expired stays: without its row it would be accepted again.
    """
    expired = OutstandingToken.objects.filter(expires_at__lte=timezone.now())
    deleted = delete_in_batches(expired, batch_size)
    if deleted:
        logger.info("Flushed %d expired refresh tokens", deleted)
    return deleted
