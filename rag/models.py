"""Documents a user uploads and the chunks they are split into. The database is the source of truth:
every chunk keeps its vector, and the FAISS and BM25 indexes are derived from these rows."""

import uuid

from django.conf import settings
from django.db import models


def document_upload_path(instance: "Document", filename: str) -> str:
    """A generated name: the client's file name never reaches the file system."""
    return f"documents/{uuid.uuid4().hex}.{instance.kind}"


class Document(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"
        CANCELLED = "cancelled"  # stopped by its owner; `retry` queues it again

    class Stage(models.TextChoices):
        """Where an ingestion is, in order; the last three are how it ended."""

        QUEUED = "queued"
        EXTRACTING = "extracting"
        CHUNKING = "chunking"
        EMBEDDING = "embedding"
        INDEXING = "indexing"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Scope(models.TextChoices):
        PRIVATE = "private"
        SHARED = "shared"  # visible to every user; only staff may share

    class Kind(models.TextChoices):
        TXT = "txt"
        MD = "md"
        HTML = "html"
        PDF = "pdf"
        DOCX = "docx"
        IMAGE = "image"  # a photo or scan of text: read by OCR

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=300)
    original_name = models.CharField(max_length=255, blank=True)  # sanitised, for display only
    file = models.FileField(upload_to=document_upload_path, max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.PRIVATE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=32, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    eta_seconds = models.PositiveIntegerField(null=True, blank=True)  # time left, from the measured rate
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Counts ingestion runs: a run owns the document only while this is its number (and it is not cancelled),
    # so a run that was cancelled, or replaced by a retry, stops at its next checkpoint and writes nothing.
    runs = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ingested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="document_owner_recent"),
            models.Index(fields=["scope", "status"], name="document_scope_status"),
        ]
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="document_owner_content_unique")]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    """A passage of a document, sized in the embedding model's tokens, with its vector (float32 bytes)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()  # order within the document
    page = models.PositiveIntegerField(null=True, blank=True)  # 1-based; None for formats without pages
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    token_count = models.PositiveIntegerField()
    embedding_model = models.CharField(max_length=200)
    # sha256 of the text that was embedded: with embedding_model, the key of the embedding cache.
    text_hash = models.CharField(max_length=64)
    vector = models.BinaryField()

    class Meta:
        ordering = ["document_id", "position"]
        indexes = [models.Index(fields=["embedding_model", "text_hash"], name="chunk_embedding_cache")]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="chunk_document_position")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class IndexState(models.Model):
    """The version of one embedding model's chunks. Every process keeps its own FAISS + BM25 in memory and
    compares this number with the version it holds, so hosts agree with no shared disk."""

    embedding_model = models.CharField(max_length=200, unique=True)
    version = models.PositiveBigIntegerField(default=0)  # the newest IndexChange.version of this model
    # Bumped by `rag_rebuild_index`: every process builds a fresh index beside its current one and swaps.
    generation = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.embedding_model} v{self.version}"


class IndexChange(models.Model):
    """A document whose chunks of one embedding model changed (added, replaced or removed) at `version`.
    Readers fetch the changes after their version and reload those documents' chunks: the deltas by id."""

    embedding_model = models.CharField(max_length=200)
    version = models.PositiveBigIntegerField()
    document_id = models.BigIntegerField()  # no foreign key: the row outlives a deleted document
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["embedding_model", "version"], name="index_change_model_version")]

    def __str__(self) -> str:
        return f"{self.embedding_model} v{self.version}: document {self.document_id}"
