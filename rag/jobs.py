"""The documents app's periodic jobs (created by `setup_schedules`)."""

from django_q.models import Schedule

from realtime_chat.core.schedules import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        "retry documents stuck in processing",
        "rag.maintenance.documents_retry_stuck",
        Schedule.MINUTES,
        minutes=5,
        timeout_seconds=120,
    ),
    PeriodicJob(
        "queue again documents whose ingestion task was lost",
        "rag.maintenance.documents_requeue_pending",
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
