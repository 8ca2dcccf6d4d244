"""The chat app's periodic jobs (created by `setup_schedules`)."""

from django_q.models import Schedule

from realtime_chat.core.schedules import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        "delete chat history past retention",
        "realtime_chat.chat.tasks.chat_history_retention",
        Schedule.DAILY,
        timeout_seconds=300,
    ),
]
