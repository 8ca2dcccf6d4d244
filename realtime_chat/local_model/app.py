"""The aiohttp application and the process around it: bind, say when ready, stop cleanly on SIGTERM/SIGINT."""

import asyncio
import logging
import signal

from aiohttp import web

from realtime_chat.local_model.model import LocalModel
from realtime_chat.local_model.ollama_api import OllamaApi
from realtime_chat.local_model.openai_api import OpenAiApi

logger = logging.getLogger(__name__)

# A backstop: answers in flight are cancelled as the server stops; a handler still busy this long after is killed.
SHUTDOWN_GRACE_SECONDS = 2.0


def build_app(model: LocalModel) -> web.Application:
    app = web.Application()
    app.add_routes(OllamaApi(model).routes())
    app.add_routes(OpenAiApi(model).routes())
    return app


async def serve(model: LocalModel, *, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT. A client that disconnects cancels its handler, which stops its generation."""
    runner = web.AppRunner(
        build_app(model), handler_cancellation=True, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        logger.info("Local model %s ready: Ollama API on http://%s:%d", model.name, host, port)
        await _until_stopped()
        logger.info("Local model server stopping")
        model.cancel_all()  # answers in flight end now rather than after the grace period
    finally:
        await runner.cleanup()


async def _until_stopped() -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
