"""WebSocket URL routes."""

from django.urls import path

from consumers.chat import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/<int:session_id>/", ChatConsumer.as_asgi()),
]
