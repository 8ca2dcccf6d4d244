"""The periodic jobs this product runs, declared in one place and created idempotently by `setup_schedules`.

The schedules are rows of django-q2's `Schedule` (admin: "Scheduled tasks"), so an admin can change their timing
or pause them there; `setup_schedules` never overwrites those edits.
"""

from dataclasses import dataclass

from django_q.models import Schedule


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    timeout_seconds: int | None = None  # None: Q_CLUSTER["timeout"]; keep below Q_CLUSTER["retry"]


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob(
        "flush expired JWT refresh tokens",
        "realtime_chat.tasks.refresh_tokens_flush",
        Schedule.HOURLY,
        timeout_seconds=120,
    ),
    PeriodicJob(
        "delete chat history past retention",
        "realtime_chat.tasks.chat_history_retention",
        Schedule.DAILY,
        timeout_seconds=300,
    ),
    PeriodicJob(
        "retry documents stuck in processing",
        "rag.maintenance.documents_retry_stuck",
        Schedule.MINUTES,
        minutes=5,
        timeout_seconds=120,
    ),
    PeriodicJob(
        "remove stray document files, fail documents without a file",
        "rag.maintenance.document_files_sweep_task",
        Schedule.DAILY,
        timeout_seconds=300,
    ),
]


def _kwargs(job: PeriodicJob) -> str | None:
    # The scheduler reads `q_options` from the schedule's kwargs and passes them to async_task.
    return repr({"q_options": {"timeout": job.timeout_seconds}}) if job.timeout_seconds else None


def schedules_ensure() -> list[tuple[str, bool]]:
    """Create each job once, keyed by name. Timing, repeats and timeouts an admin changed are kept; only the
    function is brought up to date, because a schedule pointing at a renamed function would fail forever."""
    results = []
    for job in PERIODIC_JOBS:
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
