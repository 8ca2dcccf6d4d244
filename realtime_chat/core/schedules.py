"""The periodic jobs each app declares (in its `jobs.py`), created idempotently by `setup_schedules`.

The schedules are rows of django-q2's `Schedule` (admin: "Scheduled tasks"), so an admin can change their timing
or pause them there; `setup_schedules` never overwrites those edits.
"""

from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.utils.module_loading import module_has_submodule
from django_q.models import Schedule


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    timeout_seconds: int | None = None  # None: Q_CLUSTER["timeout"]; keep below Q_CLUSTER["retry"]


JOBS_MODULE = "jobs"  # an app declares its periodic jobs as PERIODIC_JOBS in <app>/jobs.py


def periodic_jobs() -> list[PeriodicJob]:
    """Every installed app's jobs, in INSTALLED_APPS order: each app declares its own, core knows none by name."""
    jobs: list[PeriodicJob] = []
    for app in apps.get_app_configs():
        if module_has_submodule(app.module, JOBS_MODULE):
            jobs.extend(import_module(f"{app.name}.{JOBS_MODULE}").PERIODIC_JOBS)
    return jobs


def _kwargs(job: PeriodicJob) -> str | None:
    # The scheduler reads `q_options` from the schedule's kwargs and passes them to async_task.
    return repr({"q_options": {"timeout": job.timeout_seconds}}) if job.timeout_seconds else None


def schedules_ensure() -> list[tuple[str, bool]]:
    """Create each job once, keyed by name. Timing, repeats and timeouts an admin changed are kept; only the
    function is brought up to date, because a schedule pointing at a renamed function would fail forever."""
    results = []
    for job in periodic_jobs():
        existing = Schedule.objects.filter(name=job.name).order_by("pk").first()
        if existing is None:
            Schedule.objects.create(
                name=job.name,
                func=job.func,
                kwargs=_kwargs(job),
                schedule_type=job.schedule_type,
                minutes=job.minutes,
                repeats=-1,
            )
        elif existing.func != job.func:
            existing.func = job.func
            existing.save(update_fields=["func"])
        results.append((job.name, existing is None))
    return results
