from django.apps import AppConfig


class RealtimeChatConfig(AppConfig):
    name = "realtime_chat"
    verbose_name = "Realtime chat"

    def ready(self) -> None:
        from realtime_chat import health_checks  # noqa: F401  (registers the foundation's health checks)
