from django.apps import AppConfig


class RagConfig(AppConfig):
    name = "rag"
    verbose_name = "Documents and retrieval"

    def ready(self) -> None:
        from rag import health_checks  # noqa: F401  (registers the embeddings and vector_index checks)
