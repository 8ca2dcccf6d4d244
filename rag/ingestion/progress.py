"""Ingestion progress on the document rows, so `GET /api/documents/<id>/` can show it while the task runs.
Writes are throttled: a stage reports often, the database sees at most a few updates a second."""

import time
from collections.abc import Sequence

from rag.models import Document

# Where each stage starts and ends, in percent of the whole ingestion.
STAGES = {"extract": (0, 10), "chunk": (10, 15), "embed": (15, 90), "index": (90, 99)}


class Progress:
    def __init__(self, document_ids: Sequence[int], *, min_interval: float = 0.5) -> None:
        self.document_ids = list(document_ids)
        self.min_interval = min_interval
        self._stage = "extract"
        self._written_at = 0.0
        self._documents_done = 0

    @property
    def current(self) -> str:
        return self._stage

    def stage(self, name: str) -> None:
        self._stage = name
        self._write(STAGES[name][0], force=True)

    def done(self, documents: int, total: int) -> None:
        """`documents` more of `total` went through the current stage."""
        self._documents_done += documents
        self.update(self._documents_done, total)

    def update(self, done: int, total: int) -> None:
        start, end = STAGES[self._stage]
        self._write(start + (end - start) * done // max(total, 1))

    def _write(self, percent: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._written_at >= self.min_interval:
            Document.objects.filter(pk__in=self.document_ids).update(stage=self._stage, progress=percent)
            self._written_at = now
