"""Representations shared by the REST API and the socket frames, so both speak the same shapes."""

from typing import cast

from rest_framework import serializers

from realtime_chat.chat.frames import AttachmentData, MessageData
from realtime_chat.chat.models import ChatSession, Message, UserPreferences


class AttachmentSummarySerializer(serializers.Serializer):
    """A message's image as `AttachmentData`; the attachments API serves its bytes."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    session_id = serializers.IntegerField(read_only=True)
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    persona_id = serializers.IntegerField(read_only=True, allow_null=True)
    attachments = AttachmentSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id", "session_id", "role", "author", "content", "status", "client_id", "model", "provider",
            "fallback_from", "error", "prompt_tokens", "completion_tokens", "first_token_ms", "total_ms", "sources",
            "attachments", "image_input", "persona_id", "persona_name", "memories_used", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ChatSessionSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ChatSession
        fields = ["id", "title", "owner", "assistant_mode", "persona", "archived", "created_at", "updated_at"]
        read_only_fields = fields


class PreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = UserPreferences
        fields = [
            "model", "temperature", "top_p", "max_tokens", "system_prompt", "use_rag", "rag_top_k",
            "history_retention_days", "memory_enabled", "memory_auto",
        ]  # fmt: skip


def message_data(message: Message) -> MessageData:
    """The same data as `MessageSerializer(message).data`, built directly: frames are on the chat's hot path, and
    a ModelSerializer rebuilds its fields on every instantiation (~5 ms a message, measured)."""
    data = {field: getattr(message, field) for field in MessageSerializer.Meta.fields}
    data["client_id"] = None if message.client_id is None else str(message.client_id)
    data["author"] = None if message.author is None else message.author.username  # the turn sets the user
    data["created_at"] = _DATETIME.to_representation(message.created_at)
    data["attachments"] = attachment_data(message)
    return cast(MessageData, data)  # the keys are MessageData's (a test keeps them so), the values the model's


_DATETIME = serializers.DateTimeField()


def attachment_data(message: Message) -> list[AttachmentData]:
    """A user message's images (prefetched where a list is built). An answer has none: no query for it on the
    path that builds an answer's frames."""
    if message.role != Message.Role.USER or message.pk is None:
        return []
    return [
        AttachmentData(
            id=a.pk, kind=a.kind, content_type=a.content_type, width=a.width, height=a.height, bytes=a.bytes,
            sha256=a.sha256,
        )
        for a in message.attachments.all()
    ]  # fmt: skip
