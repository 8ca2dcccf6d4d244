"""The ASGI entry point daphne serves: `daphne asgi:application` (HTTP and WebSocket)."""

from config.asgi import application

__all__ = ["application"]
