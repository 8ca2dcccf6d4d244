"""The accounts app's periodic jobs (created by `setup_schedules`)."""

from django_q.models import Schedule

from realtime_chat.core.schedules import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        "flush expired JWT refresh tokens",
        "realtime_chat.accounts.tasks.refresh_tokens_flush",
        Schedule.HOURLY,
        timeout_seconds=120,
    ),
]
