from django.apps import AppConfig


class MemoryConfig(AppConfig):
    """Memories: short facts about a user, carried from one chat to the next, visible and removable by them."""

    name = "realtime_chat.memory"
    label = "memory"
    verbose_name = "Memory"
