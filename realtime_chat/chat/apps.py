from django.apps import AppConfig


class ChatConfig(AppConfig):
    """Chat sessions, messages, preferences, the turn that answers a question, and their REST API."""

    name = "realtime_chat.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from realtime_chat.attachments.access import attachment_reader_rule_register
        from realtime_chat.chat.attachment_access import posted_where_user_is

        attachment_reader_rule_register(posted_where_user_is)
