from rest_framework import serializers

from realtime_chat.memory.models import CONTENT_MAX_CHARS, Memory


class MemorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Memory
        fields = ["id", "content", "source_session", "created_at"]
        read_only_fields = fields


class MemoryInputSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=CONTENT_MAX_CHARS)
