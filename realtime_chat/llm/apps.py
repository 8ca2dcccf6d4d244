from django.apps import AppConfig


class LlmConfig(AppConfig):
    """Model providers behind one interface, the fallback chain, the circuit breaker, the extractive answer."""

    name = "realtime_chat.llm"
    label = "llm"
    verbose_name = "Language models"

    def ready(self) -> None:
        from realtime_chat.llm import health_checks  # noqa: F401  (registers the llm check)
        from realtime_chat.llm.factory import check_configuration

        check_configuration()
