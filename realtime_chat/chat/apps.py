from django.apps import AppConfig


class ChatConfig(AppConfig):
    """Chat sessions, messages, preferences, the turn that answers a question, and their REST API."""

    name = "realtime_chat.chat"
    label = "chat"
    verbose_name = "Chat"
