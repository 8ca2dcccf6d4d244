from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    """Images people upload to show in a chat: checked, re-encoded without metadata, and readable by their
    uploader (and whoever a higher app lets read them, see `access`)."""

    name = "realtime_chat.attachments"
    label = "attachments"
    verbose_name = "Attachments"
