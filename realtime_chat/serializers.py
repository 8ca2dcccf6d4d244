"""Representations shared by the REST API and the socket frames, so both speak the same shapes."""

from rest_framework import serializers

from realtime_chat.models import ChatSession, Message, UserPreferences


class MessageSerializer(serializers.ModelSerializer):
    session_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Message
        fields = [
            "id", "session_id", "role", "content", "status", "client_id", "model", "provider", "fallback_from",
            "error", "prompt_tokens", "completion_tokens", "first_token_ms", "total_ms", "sources", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ChatSessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChatSession
        fields = ["id", "title", "archived", "created_at", "updated_at"]
        read_only_fields = fields


class PreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = UserPreferences
        fields = [
            "model", "temperature", "top_p", "max_tokens", "system_prompt", "use_rag", "rag_top_k",
            "history_retention_days",
        ]  # fmt: skip


def message_data(message: Message) -> dict:
    """A message as plain JSON-ready data (UUIDs and datetimes as strings) for frames and events."""
    return dict(MessageSerializer(message).data)
