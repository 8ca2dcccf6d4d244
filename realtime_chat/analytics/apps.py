from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Usage reports, dashboards and Prometheus metrics: reads what chat and rag recorded, above both."""

    name = "realtime_chat.analytics"
    label = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from realtime_chat.analytics import recorders  # noqa: F401  (connects the signal receivers)
