from django.contrib import admin

from rag.models import Chunk, Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "kind", "scope", "status", "progress", "chunk_count", "created_at"]
    list_filter = ["status", "scope", "kind"]
    search_fields = ["title", "original_name", "owner__username"]
    readonly_fields = ["sha256", "size_bytes", "attempts", "chunk_count", "page_count", "ingested_at"]


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "position", "page", "token_count", "embedding_model"]
    list_select_related = ["document"]
    search_fields = ["text"]
    exclude = ["vector"]
