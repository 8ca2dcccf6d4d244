"""`manage.py serve_local_model`: serve the local GGUF model over Ollama's HTTP API until SIGTERM/SIGINT."""

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime_chat.local_model.app import serve
from realtime_chat.local_model.model import LocalModel
from realtime_chat.local_model.model_file import ModelFileMissing, configured_model_path

OLLAMA_DEFAULT_PORT = 11434


class Command(BaseCommand):
    help = "Serve the local model (SmolLM2 by default) over the Ollama HTTP API, for development and tests."

    def add_arguments(self, parser: CommandParser) -> None:
        default = urlsplit(settings.OLLAMA_HOST)
        parser.add_argument("--host", default=default.hostname or "127.0.0.1", help="address to bind")
        parser.add_argument("--port", type=int, default=default.port or OLLAMA_DEFAULT_PORT, help="port to bind")
        parser.add_argument("--model-path", type=Path, default=None, help="a GGUF file (default: LOCAL_MODEL_PATH)")

    def handle(self, *args: object, host: str, port: int, model_path: Path | None, **options: object) -> None:
        try:
            model = LocalModel.load(
                model_path or configured_model_path(),
                name=settings.LOCAL_MODEL_NAME,
                context=settings.LOCAL_MODEL_CONTEXT,
                threads=settings.LOCAL_MODEL_THREADS,
            )
        except ModelFileMissing as exc:
            raise CommandError(str(exc)) from exc
        try:
            asyncio.run(serve(model, host=host, port=port))
        finally:
            model.close()
