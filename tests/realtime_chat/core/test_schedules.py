"""The periodic jobs: created once by `setup_schedules`, visible and editable in the admin, watched by health."""

import ast
import io
import pydoc
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Failure, Schedule, Success

from realtime_chat.core import health, health_checks
from realtime_chat.core.schedules import periodic_jobs
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def setup_schedules() -> str:
    out = io.StringIO()
    call_command("setup_schedules", stdout=out)
    return out.getvalue()


def test_setup_schedules_twice_creates_each_job_once() -> None:
    first, second = setup_schedules(), setup_schedules()
    assert first.count("created") == len(periodic_jobs())
    assert "created" not in second
    names = sorted(Schedule.objects.values_list("name", flat=True))
    assert names == sorted(job.name for job in periodic_jobs())


def test_the_jobs_the_issue_asks_for_are_scheduled() -> None:
    setup_schedules()
    by_func = {s.func: s for s in Schedule.objects.all()}
    assert by_func["realtime_chat.chat.tasks.chat_history_retention"].schedule_type == Schedule.DAILY
    assert by_func["realtime_chat.accounts.tasks.refresh_tokens_flush"].schedule_type == Schedule.HOURLY
    stuck = by_func["rag.maintenance.documents_retry_stuck"]
    assert (stuck.schedule_type, stuck.minutes) == (Schedule.MINUTES, 5)
    assert by_func["rag.maintenance.document_files_sweep_task"].schedule_type == Schedule.DAILY
    for schedule in by_func.values():
        assert schedule.repeats == -1
        assert callable(pydoc.locate(schedule.func)), schedule.func
        timeout = ast.literal_eval(schedule.kwargs)["q_options"]["timeout"]
        assert 0 < timeout < Conf.RETRY  # a task still running when its broker re-delivers it would run twice


def test_admin_edits_to_timing_survive_and_a_renamed_function_is_updated() -> None:
    setup_schedules()
    edited = Schedule.objects.get(func="realtime_chat.chat.tasks.chat_history_retention")
    edited.schedule_type, edited.minutes, edited.repeats = Schedule.MINUTES, 720, 0  # every 12 h, paused
    edited.save()
    stale = Schedule.objects.get(func="realtime_chat.accounts.tasks.refresh_tokens_flush")
    stale.func = "realtime_chat.accounts.tasks.flush_expired_tokens"  # what an older release scheduled
    stale.save()

    assert "created" not in setup_schedules()

    edited.refresh_from_db()
    stale.refresh_from_db()
    assert (edited.schedule_type, edited.minutes, edited.repeats) == (Schedule.MINUTES, 720, 0)
    assert stale.func == "realtime_chat.accounts.tasks.refresh_tokens_flush"


@pytest.mark.parametrize("model", [Schedule, Success, Failure])
def test_schedules_and_task_results_are_in_the_admin(model: type) -> None:
    assert admin.site.is_registered(model)
    setup_schedules()
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    meta = model._meta
    response = client.get(f"/admin/{meta.app_label}/{meta.model_name}/")
    assert response.status_code == 200
    if model is Schedule:
        for job in periodic_jobs():
            assert job.name in response.content.decode()


# --- the task_worker health check ---------------------------------------------------------------


def test_worker_check_is_ok_in_sync_mode() -> None:
    assert "inline" in health_checks.task_worker()


@pytest.fixture
def no_worker_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in production, tasks go to the broker; and no cluster is publishing a heartbeat."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(health_checks.Stat, "get_all", staticmethod(lambda broker=None: []))


def test_heartbeat_is_visible_across_processes_exactly_when_redis_carries_it(settings) -> None:
    """Redis broker: stats live in Redis. Embedded default: ORM broker, stats in each process's local memory."""
    assert health_checks._heartbeat_visible(get_broker()) is bool(settings.REDIS_URL)


@pytest.mark.usefixtures("no_worker_running")
def test_an_overdue_schedule_means_no_worker_is_running() -> None:
    setup_schedules()
    Schedule.objects.filter(func="realtime_chat.accounts.tasks.refresh_tokens_flush").update(
        next_run=timezone.now() - timedelta(minutes=10)
    )
    with pytest.raises(RuntimeError, match=r"no worker seen: schedule 'flush expired JWT refresh tokens' is 10 min"):
        health_checks.task_worker()


@pytest.mark.usefixtures("no_worker_running")
def test_where_no_heartbeat_can_be_seen_schedules_on_time_are_the_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health_checks, "_heartbeat_visible", lambda broker: False)
    with pytest.raises(RuntimeError, match="no schedules to judge by"):
        health_checks.task_worker()
    setup_schedules()
    assert "no schedule overdue" in health_checks.task_worker()


@pytest.mark.usefixtures("no_worker_running")
def test_no_heartbeat_where_it_would_be_visible_means_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    setup_schedules()
    monkeypatch.setattr(health_checks, "_heartbeat_visible", lambda broker: True)
    with pytest.raises(RuntimeError, match="no cluster heartbeat"):
        health_checks.task_worker()


def test_queue_check_reports_depth_and_only_the_broker_is_required() -> None:
    assert re.search(r"reachable, \d+ queued", health_checks.task_queue())
    assert health._registry["task_queue"].required
    assert not health._registry["task_worker"].required  # no worker: degraded, not down
