from django.contrib import admin

from realtime_chat.personas.models import Persona


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "shared", "model", "temperature", "use_rag", "updated_at"]
    list_filter = ["shared", "model"]
    search_fields = ["name", "description", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
