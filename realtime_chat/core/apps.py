from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app builds on: domain errors, the health registry, request ids, the channel layer, schedules."""

    name = "realtime_chat.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from realtime_chat.core import health_checks  # noqa: F401  (registers the foundation's health checks)
