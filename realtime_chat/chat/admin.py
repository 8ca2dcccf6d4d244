from django.contrib import admin

from realtime_chat.chat.models import ChatSession, Message, UserPreferences


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = readonly_fields = ("role", "status", "content", "model", "provider", "created_at")
    show_change_link = True
    can_delete = False


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "archived", "generating_since", "created_at", "updated_at"]
    list_filter = ["archived", "created_at"]
    search_fields = ["title", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "role", "status", "model", "provider", "completion_tokens", "created_at"]
    list_filter = ["role", "status", "provider", "model", "created_at"]
    search_fields = ["content", "session__title", "session__owner__username"]
    list_select_related = ["session"]
    raw_id_fields = ["session"]
    readonly_fields = ["created_at"]


@admin.register(UserPreferences)
class UserPreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "model", "temperature", "max_tokens", "use_rag", "rag_top_k", "history_retention_days"]
    list_filter = ["use_rag", "model"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
