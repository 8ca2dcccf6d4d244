"""django-q2 tasks of the chat app: thin interfaces over a service, safe to run twice."""

from realtime_chat.chat.services import cleanup


def chat_history_retention() -> str:
    deleted = cleanup.chat_history_delete_expired()
    return f"deleted {deleted.messages} messages and {deleted.sessions} sessions past their retention period"
