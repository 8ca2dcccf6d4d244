"""A memory: one short fact about its user, with its vector (the RAG embedding model's) for recall."""

from django.conf import settings
from django.db import models

CONTENT_MAX_CHARS = 500


class Memory(models.Model):
    """`source_session` is the id of the chat it was saved from (None when added on the memory page): a record of
    where it came from, kept as a number so that memory does not depend on chat."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memories")
    content = models.CharField(max_length=CONTENT_MAX_CHARS)
    source_session = models.PositiveBigIntegerField(null=True, blank=True)
    embedding_model = models.CharField(max_length=200, editable=False)
    vector = models.BinaryField(editable=False)  # float32, normalised: `embedding_model`'s vector of `content`
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "memories"
        indexes = [models.Index(fields=["user", "-created_at"], name="memory_user_recent")]

    def __str__(self) -> str:
        return self.content[:60]
