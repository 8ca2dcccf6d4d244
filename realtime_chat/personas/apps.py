from django.apps import AppConfig


class PersonasConfig(AppConfig):
    """Personas: a named system prompt and generation settings a chat session answers with."""

    name = "realtime_chat.personas"
    label = "personas"
    verbose_name = "Personas"
