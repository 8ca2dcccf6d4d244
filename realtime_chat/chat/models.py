"""Chat sessions, their messages and each user's chat preferences."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ChatSession(models.Model):
    """A conversation. `generating_since` is set while an answer streams: one generation per session at a time.

    The generating process refreshes `generation_heartbeat_at` while it works; a lock whose heartbeat stopped
    (the process died) is taken over by the next message or the sweeper, so a session is never locked for long.
    """

    class AssistantMode(models.TextChoices):
        ALWAYS = "always"  # the assistant answers every message
        MENTION = "mention"  # only messages that contain @assistant

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sessions")
    assistant_mode = models.CharField(max_length=16, choices=AssistantMode.choices, default=AssistantMode.ALWAYS)
    title = models.CharField(max_length=200, blank=True)
    # Who answers in this session (its settings override the asker's preferences); None: the preferences alone.
    persona = models.ForeignKey("personas.Persona", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    archived = models.BooleanField(default=False)
    generating_since = models.DateTimeField(null=True, blank=True, editable=False)
    generation_heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Who asked the answer being generated: a user's generations at once are capped across all their sessions.
    generating_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "realtime_chat_chatsession"  # tables keep the names they had before the apps were split
        indexes = [models.Index(fields=["owner", "-updated_at"], name="session_owner_recent")]

    def __str__(self) -> str:
        return self.title or f"Session {self.pk}"


class SessionMember(models.Model):
    """Someone the owner let into the session: a member writes, a viewer reads and watches. The owner is not a
    row here (`ChatSession.owner`)."""

    class Role(models.TextChoices):
        MEMBER = "member"
        VIEWER = "viewer"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="session_member_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.session}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        SYSTEM = "system"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        CANCELLED = "cancelled"
        ERROR = "error"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Who wrote a user message (in a shared session, one of several people); None for the assistant's.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Whose question an assistant message answers (whose budget and usage it counts in); None for the others.
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    # A client's id for its own message, so a resend after a dropped socket is recognised, not duplicated.
    client_id = models.UUIDField(null=True, blank=True)
    model = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=200, blank=True)
    fallback_from = models.JSONField(default=list, blank=True)  # providers skipped before the one that answered
    error = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    total_ms = models.PositiveIntegerField(null=True, blank=True)
    sources = models.JSONField(default=list, blank=True)  # cited passages: number, document id, title, page, snippet
    # Images posted with a user message. The link lives here, in chat, so the attachments app never imports chat.
    attachments = models.ManyToManyField("attachments.Attachment", blank=True, related_name="messages")
    # On an answer to a message with images: how the model got them, "vision" (the images) or "ocr" (their text).
    image_input = models.CharField(max_length=8, blank=True)
    # The persona that answered, and its name then (kept if the persona is deleted or renamed later).
    persona = models.ForeignKey("personas.Persona", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    persona_name = models.CharField(max_length=100, blank=True)
    memories_used = models.JSONField(default=list, blank=True)  # ids of the asker's memories the prompt carried
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "realtime_chat_message"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["session", "created_at", "id"], name="message_session_order"),
            # Usage reports and the daily budget: one user's answers, or everyone's, over a bounded time range.
            models.Index(fields=["asked_by", "created_at"], name="message_asked_by_time"),
            models.Index(fields=["role", "created_at"], name="message_role_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_id"], condition=models.Q(client_id__isnull=False), name="message_client_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:50]}"


class UserPreferences(models.Model):
    """Per-user chat settings, created on first use. Empty `model` means the server's default model."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    model = models.CharField(max_length=200, blank=True)
    temperature = models.FloatField(default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    top_p = models.FloatField(default=0.9, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    max_tokens = models.PositiveIntegerField(default=512, validators=[MinValueValidator(1), MaxValueValidator(8192)])
    system_prompt = models.TextField(blank=True, max_length=4000)
    use_rag = models.BooleanField(default=True)
    rag_top_k = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(20)])
    # None: the global CHAT_HISTORY_RETENTION_DAYS applies; 0: keep forever.
    history_retention_days = models.PositiveIntegerField(null=True, blank=True, validators=[MaxValueValidator(36500)])
    memory_enabled = models.BooleanField(default=True)  # memories are saved and used in prompts
    memory_auto = models.BooleanField(default=False)  # the model proposes facts to remember after each answer

    class Meta:
        db_table = "realtime_chat_userpreferences"
        verbose_name_plural = "user preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user}"
