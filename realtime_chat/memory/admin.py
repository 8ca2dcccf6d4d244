from django.contrib import admin

from realtime_chat.memory.models import Memory


@admin.register(Memory)
class MemoryAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "content", "source_session", "created_at"]
    search_fields = ["content", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["embedding_model", "created_at", "updated_at"]
    exclude = ["vector"]
