from django.contrib import admin

from realtime_chat.attachments.models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "kind", "width", "height", "bytes", "created_at"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["sha256", "file", "thumbnail", "ocr_text"]
