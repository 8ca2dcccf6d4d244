"""An ingestion run's progress on the document rows, so `GET /api/documents/<id>/` can show stage, percent and time
left while the task runs, and the checkpoints where the run notices that it was cancelled.

Writes are throttled (`RAG_PROGRESS_INTERVAL_MS`): a stage reports every batch, the database sees at most a few
updates a second, except when the stage changes. A run owns a document while the row's `runs` is the number the
run started with and the document is not cancelled; a document it no longer owns is dropped at the next checkpoint.
"""

import math
import time
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
from django.utils import timezone

from rag.conf import int_setting
from rag.models import Document

Stage = Document.Stage
# Where each stage starts and ends, in percent of the whole ingestion.
SPANS = {Stage.EXTRACTING: (0, 10), Stage.CHUNKING: (10, 15), Stage.EMBEDDING: (15, 90), Stage.INDEXING: (90, 99)}
ORDER = list(SPANS)


class IngestionCancelled(Exception):
    """None of the documents a step works on belongs to this run any more (cancelled, deleted or run again)."""


class Progress:
    def __init__(self, documents: Sequence[Document], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.runs = {document.pk: document.runs for document in documents}
        self.min_interval = int_setting("RAG_PROGRESS_INTERVAL_MS") / 1000
        self._clock = clock
        self._total = max(len(documents), 1)
        self._stage = Stage.EXTRACTING
        self._noted = Stage.EXTRACTING  # set by parser threads, written by the run's own thread
        self._percent = 0
        self._written_at = -math.inf
        self._embedding_since: float | None = None
        self._documents_embedded = 0

    @property
    def document_ids(self) -> list[int]:
        return list(self.runs)

    @property
    def current(self) -> str:
        return self._stage

    def drop(self, document_id: int) -> None:
        self.runs.pop(document_id, None)

    def stage(self, stage: str) -> None:
        """Enter `stage` (only forward), written at once."""
        if ORDER.index(Stage(stage)) < ORDER.index(Stage(self._stage)) or (
            stage == self._stage and self._written_at > -math.inf
        ):
            return
        if stage == Stage.EMBEDDING and self._embedding_since is None:
            self._embedding_since = self._clock()
        self._stage = Stage(stage)
        self._write(SPANS[self._stage][0], force=True)

    def note(self, stage: str) -> None:
        """From a parser thread (which must not write): the run reached `stage`; written at the next checkpoint."""
        self._noted = Stage(stage)

    def advance(self) -> None:
        """Write the stage a parser thread noted, if the run is not past it."""
        if ORDER.index(self._noted) > ORDER.index(Stage(self._stage)):
            self.stage(self._noted)

    def checkpoint(self, document_ids: Iterable[int] | None = None) -> None:
        """Between two steps: write a noted stage, drop the documents this run no longer owns, and raise
        IngestionCancelled when none of `document_ids` (default: all of the run's) is left."""
        self.advance()
        owned = set(self.owned().values_list("pk", flat=True))
        for pk in set(self.runs) - owned:
            self.drop(pk)
        wanted = set(self.runs if document_ids is None else document_ids)
        if not wanted & owned:
            raise IngestionCancelled

    def embedded(self, documents: int, *, of_batch: float = 1.0, batch_documents: int = 0) -> None:
        """`documents` more went through embedding; `of_batch` of the `batch_documents` being embedded now."""
        self._documents_embedded += documents
        fraction = min((self._documents_embedded + batch_documents * of_batch) / self._total, 1.0)
        start, end = SPANS[Stage.EMBEDDING]
        self._write(start + int((end - start) * fraction), eta=self._eta(fraction))

    def owned(self) -> QuerySet[Document]:
        """The documents still this run's (their rows as they are now)."""
        return Document.objects.filter(self.owned_q())

    def owned_q(self, document_ids: Iterable[int] | None = None) -> Q:
        ids = self.runs if document_ids is None else [pk for pk in document_ids if pk in self.runs]
        by_run: dict[int, list[int]] = {}
        for pk in ids:
            by_run.setdefault(self.runs[pk], []).append(pk)
        mine = reduce(or_, (Q(pk__in=pks, runs=run) for run, pks in by_run.items()), Q(pk__in=[]))
        return mine & ~Q(status=Document.Status.CANCELLED)

    def _eta(self, fraction: float) -> int | None:
        """Seconds left, from the rate measured since embedding began (which is most of the work); None until
        something has been measured."""
        if self._embedding_since is None or fraction <= 0:
            return None
        elapsed = self._clock() - self._embedding_since
        return math.ceil(elapsed * (1 - fraction) / fraction)

    def _write(self, percent: int, *, eta: int | None = None, force: bool = False) -> None:
        now = self._clock()
        percent = max(percent, self._percent)  # never backwards, whatever a batch reports
        if not force and (now - self._written_at < self.min_interval or percent == self._percent):
            return
        self._percent, self._written_at = percent, now
        self.owned().update(stage=self._stage, progress=percent, eta_seconds=eta, updated_at=timezone.now())
