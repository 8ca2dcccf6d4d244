"""A real `manage.py qcluster` process, on the ORM broker and on Redis, runs queued and scheduled jobs.

The cluster is a separate process, so it must see the test database: the SQLite test database is a file and
PostgreSQL's is `test_<name>`; both are handed over through DATABASE_URL, and the tests commit their rows.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.brokers import Broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.models import Schedule, Success
from django_q.status import Stat
from django_q.tasks import async_task
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message, UserPreferences
from realtime_chat.core import health_checks
from realtime_chat.core.schedules import schedules_ensure

pytestmark = [pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

START_TIMEOUT = 60
# The cluster's scheduler first runs about 30 s after start-up, then every 30 s.
SCHEDULE_TIMEOUT = 120


def test_database_url() -> str:
    """The database this test process uses, as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


test_database_url.__test__ = False  # a helper, not a test


@dataclass
class Cluster:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"qcluster exited with {self.process.returncode} while waiting for {what}:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not happen within {timeout:.0f}s; qcluster log:\n{self.output()}")
            time.sleep(0.5)

    def stop(self) -> int:
        """SIGTERM, as a process manager stops it: the cluster finishes its work and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only the cluster and its workers
                self.process.wait(timeout=10)
        return self.process.returncode


@pytest.fixture
def start_cluster(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Cluster]]:
    clusters: list[Cluster] = []

    def start(env: dict[str, str]) -> Cluster:
        log = tmp_path / f"qcluster-{len(clusters)}.log"
        environment = {
            **os.environ,
            "DJANGO_ENV": "test",
            "Q_SYNC": "false",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": "",
            "LOG_LEVEL": "INFO",
            **env,
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        cluster = Cluster(process=process, log=log)
        clusters.append(cluster)
        cluster.wait_until(lambda: "running." in cluster.output(), START_TIMEOUT, "cluster start-up")
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


@pytest.fixture(params=["orm", "redis"])
def broker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[Broker, dict[str, str]]:
    """A broker this test process enqueues on, and the environment that gives the cluster the same one."""
    if request.param == "orm":
        return ORM(), {"REDIS_URL": ""}
    url = request.getfixturevalue("redis_url")
    monkeypatch.setattr(Conf, "REDIS", url)
    return Redis(), {"REDIS_URL": url}


def expired_history(user: User) -> ChatSession:
    UserPreferences.objects.create(user=user, history_retention_days=30)
    session = ChatSession.objects.create(owner=user, title="last year")
    Message.objects.create(session=session, role=Message.Role.USER, content="old")
    long_ago = timezone.now() - timedelta(days=365)
    Message.objects.filter(session=session).update(created_at=long_ago)
    ChatSession.objects.filter(pk=session.pk).update(created_at=long_ago, updated_at=long_ago)
    return session


def expired_refresh_token(user: User) -> OutstandingToken:
    jti = RefreshToken.for_user(user)["jti"]
    OutstandingToken.objects.filter(jti=jti).update(expires_at=timezone.now() - timedelta(hours=1))
    return OutstandingToken.objects.get(jti=jti)


def test_real_cluster_runs_queued_and_scheduled_jobs(
    start_cluster: Callable[[dict[str, str]], Cluster], broker: tuple[Broker, dict[str, str]], user: User
) -> None:
    queue, cluster_env = broker
    token = expired_refresh_token(user)
    old_session = expired_history(user)
    cluster = start_cluster(cluster_env)

    # Queued: a task pushed on the broker is picked up by a worker within a poll or two.
    async_task("realtime_chat.accounts.tasks.refresh_tokens_flush", broker=queue, sync=False, task_name="flush-now")
    cluster.wait_until(lambda: not OutstandingToken.objects.filter(pk=token.pk).exists(), 60, "the queued flush")
    cluster.wait_until(lambda: Success.objects.filter(name="flush-now").exists(), 30, "the flush's result saved")

    # Scheduled: setup_schedules' jobs are due at once; the cluster's scheduler queues them, a worker runs them.
    schedules_ensure()
    retention = Schedule.objects.get(func="realtime_chat.chat.tasks.chat_history_retention")
    cluster.wait_until(
        lambda: not ChatSession.objects.filter(pk=old_session.pk).exists(), SCHEDULE_TIMEOUT, "the scheduled retention"
    )
    cluster.wait_until(
        lambda: Success.objects.filter(func=retention.func, group=retention.name).exists(), 30, "its result saved"
    )
    result = Success.objects.get(func=retention.func, group=retention.name).result
    assert result == "deleted 1 messages and 1 sessions past their retention period"
    retention.refresh_from_db()
    assert retention.next_run > timezone.now() + timedelta(hours=23)  # daily: the next run is tomorrow

    if isinstance(queue, Redis):
        # The cluster's heartbeat lives in Redis, where any web process can see it.
        mine = [s for s in Stat.get_all(broker=queue) if s.host == socket.gethostname() and s.workers]
        assert mine, "no heartbeat from the running cluster"

    assert cluster.stop() == 0, cluster.output()


@pytest.mark.redis
def test_worker_health_check_sees_a_cluster_running_on_redis(
    start_cluster: Callable[[dict[str, str]], Cluster], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Conf, "REDIS", redis_url)
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(health_checks, "get_broker", Redis)  # this process's broker, whatever the pass
    start_cluster({"REDIS_URL": redis_url})
    message = health_checks.task_worker()
    assert "cluster(s) with" in message
    assert "heartbeat" in message
