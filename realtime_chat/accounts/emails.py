"""Transactional emails, sent from tasks only, never from a request.

A send is retried a few times with a growing pause; the last failure is logged and re-raised, so django-q2
records the task as failed (admin: "Failed tasks") and its broker may deliver it again. Never lost silently.
"""

import logging
import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger(__name__)
EMAIL_TASK_TIMEOUT_SECONDS = 120  # each SMTP attempt is bounded by EMAIL_TIMEOUT; this bounds the whole task


def email_task_queue(task: str, *, user_id: int, task_name: str) -> None:
    """Queue an email task (`realtime_chat.accounts.tasks.<task>`) after commit, so the worker never looks for a
    user that is not saved yet. Only the user's id travels: task arguments are kept by the broker and the admin."""
    transaction.on_commit(
        lambda: async_task(
            f"realtime_chat.accounts.tasks.{task}", user_id, task_name=task_name, timeout=EMAIL_TASK_TIMEOUT_SECONDS
        ),
        robust=True,  # a broker hiccup must not turn a saved change into a 500; it is logged instead
    )


def email_send(*, to: str, subject: str, body: str) -> None:
    attempts, backoff = max(settings.EMAIL_SEND_ATTEMPTS, 1), settings.EMAIL_RETRY_BACKOFF_SECONDS
    # EMAIL_TIMEOUT: without one, a silent SMTP server would hold a worker until the task timeout.
    timeout = settings.EMAIL_TIMEOUT
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    for attempt in range(1, attempts + 1):
        try:
            message.connection = get_connection(fail_silently=False, timeout=timeout)
            message.send(fail_silently=False)
            return
        except (smtplib.SMTPException, OSError) as exc:
            if attempt == attempts:
                logger.error("Email %r to %s failed after %d attempts: %s", subject, to, attempt, exc)
                raise
            logger.warning(
                "Email %r to %s failed (attempt %d of %d), retrying: %s", subject, to, attempt, attempts, exc
            )
            time.sleep(backoff * attempt)
