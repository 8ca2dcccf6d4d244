"""WebSocket URL routes."""

from typing import TYPE_CHECKING

from django.urls import path

from consumers.chat import ChatConsumer

if TYPE_CHECKING:
    from channels.routing import URLRouter, _ExtendedURLPattern

# Channels routes ASGI applications with Django's path(), which django-stubs types for views only.
websocket_urlpatterns: list["_ExtendedURLPattern | URLRouter"] = [
    path("ws/chat/<int:session_id>/", ChatConsumer.as_asgi()),  # type: ignore[arg-type, list-item]
]
