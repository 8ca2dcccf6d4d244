from django.apps import AppConfig


class LocalModelConfig(AppConfig):
    """The bundled model server: llama.cpp serving a packaged GGUF model over the Ollama (and OpenAI) API."""

    name = "realtime_chat.local_model"
    label = "local_model"
    verbose_name = "Bundled local model"
