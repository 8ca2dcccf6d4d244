"""Load the embedding model now, deriving its ONNX file if it is not cached yet.

`make run` and the Docker image call it, so that the one-off export (a few seconds) happens before the first
upload or question instead of inside it.
"""

import time

from django.core.management.base import BaseCommand

from rag.ingestion.embed import get_embedder


class Command(BaseCommand):
    help = "Prepare the embedding model (export it to ONNX once, when that backend is configured)."

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        embedder = get_embedder()
        self.stdout.write(
            f"embedding model {embedder.model_key} ready ({embedder.dimension} dimensions) "
            f"in {time.perf_counter() - started:.1f} s"
        )
