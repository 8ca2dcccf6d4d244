"""Rebuild the FAISS and BM25 indexes from the database (the source of truth) in every process: a new generation,
which each process builds beside the index answering and then swaps in.

`--reembed` first re-ingests every ready document with the configured embedding model (after changing it).
"""

import time

from django.core.management.base import BaseCommand, CommandParser

from rag.ingestion.embed import get_embedder
from rag.ingestion.index import index_rebuild
from rag.ingestion.pipeline import ingest_documents
from rag.models import Chunk, Document


class Command(BaseCommand):
    help = "Rebuild the vector and BM25 indexes from the chunks stored in the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reembed", action="store_true", help="re-ingest documents with the configured model")

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        if options["reembed"]:
            documents = list(Document.objects.filter(status=Document.Status.READY).order_by("id"))
            for start in range(0, len(documents), 100):
                ingest_documents(documents[start : start + 100])
            self.stdout.write(f"re-embedded {len(documents)} documents with {get_embedder().model_key}")
        model_keys = set(Chunk.objects.values_list("embedding_model", flat=True).distinct()) or {
            get_embedder().model_key
        }
        for model_key in sorted(model_keys):
            snapshot = index_rebuild(model_key)
            self.stdout.write(
                f"{model_key}: version {snapshot.version}, {snapshot.count} vectors, {snapshot.index_type} index"
            )
        self.stdout.write(f"done in {time.perf_counter() - started:.1f} s")
