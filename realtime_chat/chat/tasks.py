"""django-q2 tasks of the chat app: thin interfaces over a service, safe to run twice."""

from realtime_chat.chat.services import chat, cleanup


def chat_history_retention() -> str:
    deleted = cleanup.chat_history_delete_expired()
    return f"deleted {deleted.messages} messages and {deleted.sessions} sessions past their retention period"


def generations_abandoned_finish() -> str:
    freed = chat.generations_abandoned_finish()
    return f"freed {freed} sessions whose generating process stopped"
