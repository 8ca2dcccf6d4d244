"""Transactional emails. Sending retries a few times, then logs and raises so the task shows as failed."""

import logging
import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)

SEND_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 2.0


def email_send(*, to: str, subject: str, body: str) -> None:
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            message.send(fail_silently=False)
            return
        except (smtplib.SMTPException, OSError) as exc:
            if attempt == SEND_ATTEMPTS:
                logger.error("Email %r to %s failed after %d attempts: %s", subject, to, attempt, exc)
                raise
            logger.warning("Email %r to %s failed (attempt %d), retrying: %s", subject, to, attempt, exc)
            time.sleep(RETRY_BACKOFF_SECONDS * attempt)
