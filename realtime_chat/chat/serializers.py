"""Representations shared by the REST API and the socket frames, so both speak the same shapes."""

from typing import cast

from rest_framework import serializers

from realtime_chat.chat.frames import MessageData
from realtime_chat.chat.models import ChatSession, Message, UserPreferences


class MessageSerializer(serializers.ModelSerializer):
    session_id = serializers.IntegerField(read_only=True)
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    persona_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id", "session_id", "role", "author", "content", "status", "client_id", "model", "provider",
            "fallback_from", "error", "prompt_tokens", "completion_tokens", "first_token_ms", "total_ms", "sources",
            "persona_id", "persona_name", "memories_used", "created_at",
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
    return cast(MessageData, data)  # the keys are MessageData's (a test keeps them so), the values the model's


_DATETIME = serializers.DateTimeField()
