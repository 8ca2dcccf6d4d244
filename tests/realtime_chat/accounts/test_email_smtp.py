"""Emails through a real SMTP server (aiosmtpd, started by the test), and what happens when none answers."""

import email
import logging
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from multiprocessing import Value

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Failure
from django_q.monitor import monitor
from django_q.queues import Queue
from django_q.signing import SignedPackage
from django_q.worker import worker
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)  # mail is queued on commit, as in production

SIGNUP = {"username": "grace", "email": "grace@example.com", "password": "cobol-compiler-1959"}


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_inbox(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(settings, controller.port)
    yield inbox
    controller.stop()


def link_in(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://\S+{re.escape(path)}#token=(\S+)", body)
    assert match, body
    return match.group(1)


def test_verification_mail_arrives_over_smtp_and_its_link_verifies(api_client: APIClient, smtp_inbox: Inbox) -> None:
    signup = api_client.post(reverse("auth-signup"), SIGNUP, format="json")
    assert signup.status_code == 201, signup.json()

    assert len(smtp_inbox.messages) == 1
    received = smtp_inbox.messages[0]
    assert received["To"] == "grace@example.com"
    assert received["Subject"] == "Confirm your email address"
    token = link_in(received, "/verify-email/")

    verified = api_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert verified.status_code == 200, verified.json()
    assert User.objects.get(username="grace").email_verified


def test_password_reset_mail_arrives_over_smtp_and_its_link_resets(
    api_client: APIClient, smtp_inbox: Inbox, user: User
) -> None:
    assert api_client.post(reverse("auth-password-reset"), {"email": user.email}, format="json").status_code == 202
    token = link_in(smtp_inbox.messages[-1], "/reset-password/")

    payload = {"token": token, "new_password": "a-brand-new-passphrase-42"}
    assert api_client.post(reverse("auth-password-reset-confirm"), payload, format="json").status_code == 204
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase-42")
    assert not user.check_password(DEFAULT_PASSWORD)


# --- SMTP down ----------------------------------------------------------------------------------


def run_queued_tasks() -> None:
    """What a cluster does with the queue, in this process: django-q2's own worker and monitor, one pass."""
    broker = get_broker()
    tasks, results = Queue(), Queue()
    while batch := broker.dequeue():
        for ack_id, payload in batch:
            tasks.put({**SignedPackage.loads(payload), "ack_id": ack_id})
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker)


def test_smtp_down_signup_answers_at_once_and_the_send_fails_visibly_after_retries(
    api_client: APIClient, settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_smtp(settings, free_port())  # nothing listens there
    settings.EMAIL_SEND_ATTEMPTS, settings.EMAIL_RETRY_BACKOFF_SECONDS = 3, 0.01
    monkeypatch.setattr(Conf, "SYNC", False)  # as in production: the request only queues the mail

    started = time.monotonic()
    signup = api_client.post(reverse("auth-signup"), SIGNUP, format="json")
    assert signup.status_code == 201
    assert time.monotonic() - started < 2

    with caplog.at_level(logging.WARNING):
        run_queued_tasks()

    attempts = [r for r in caplog.records if r.name == "realtime_chat.accounts.emails"]
    assert [r.levelname for r in attempts] == ["WARNING", "WARNING", "ERROR"]
    assert "failed after 3 attempts" in attempts[-1].getMessage()
    failure = Failure.objects.get(func="realtime_chat.accounts.tasks.send_verification_email")
    assert "Connection refused" in failure.result or "ConnectionRefusedError" in failure.result
    assert not User.objects.get(username="grace").email_verified
