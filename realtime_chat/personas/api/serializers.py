"""A persona as the API shows it: every setting, `null` where the user's preferences apply."""

from rest_framework import serializers

from realtime_chat.personas.models import Persona

SETTINGS_FIELDS = ["model", "temperature", "top_p", "max_tokens", "use_rag", "rag_top_k"]


class PersonaSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Persona
        fields = ["id", "name", "description", "system_prompt", *SETTINGS_FIELDS, "shared", "owner", "created_at",
                  "updated_at"]  # fmt: skip
        read_only_fields = ["id", "owner", "created_at", "updated_at"]


class PersonaInputSerializer(serializers.ModelSerializer):
    """What a client sends. `model` may be empty (the user's own); the other settings may be null (the user's)."""

    name = serializers.CharField(max_length=100)

    class Meta:
        model = Persona
        fields = ["name", "description", "system_prompt", *SETTINGS_FIELDS, "shared"]

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A persona needs a name.")
        return value.strip()
