"""The periodic jobs this product runs, declared in one place and created idempotently by `setup_schedules`."""

from dataclasses import dataclass

from django_q.models import Schedule


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("flush expired JWT refresh tokens", "realtime_chat.tasks.flush_expired_tokens", Schedule.HOURLY),
]


def schedules_ensure() -> list[tuple[str, bool]]:
    """Create each job once (keyed by name). An admin's later edits to timing are kept, not overwritten."""
    results = []
    for job in PERIODIC_JOBS:
        _, created = Schedule.objects.get_or_create(
            name=job.name,
            defaults={"func": job.func, "schedule_type": job.schedule_type, "minutes": job.minutes, "repeats": -1},
        )
        results.append((job.name, created))
    return results
