"""Documents made through the real upload service (so they are checked, stored and ingested as in production)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from rag import services
from rag.models import Document
from realtime_chat.accounts.models import User


def document_upload(
    *, user: User, name: str, content: bytes | str, title: str = "", scope: str = "private"
) -> Document:
    data = content.encode() if isinstance(content, str) else content
    upload = SimpleUploadedFile(name, data)
    return services.document_create(user=user, upload=upload, title=title, scope=scope)
