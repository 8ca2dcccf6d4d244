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
    PeriodicJob(
        "finish answers whose generating process stopped",
        "realtime_chat.chat.tasks.generations_abandoned_finish",
        Schedule.MINUTES,
        minutes=1,
        timeout_seconds=50,
    ),
]
