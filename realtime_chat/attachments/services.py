"""Attachment writes: an upload checked, cleaned and stored (or refused with nothing stored), and OCR on demand."""

import hashlib
import threading
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image

from rag.ingestion.ocr import OcrFailed, image_text
from realtime_chat.accounts.models import User
from realtime_chat.attachments.images import ImageRefused, clean
from realtime_chat.attachments.models import Attachment
from realtime_chat.attachments.selectors import attachment_bytes_used
from realtime_chat.core.errors import ApplicationError

_OCR_RUNS = threading.BoundedSemaphore(2)  # Tesseract processes at once, per server process


class AttachmentRefused(ApplicationError):
    """An upload that is not an acceptable image: `code` says why (unsupported_image, invalid_image, ...)."""

    def __init__(self, detail: str, *, code: str, status_code: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.status_code = status_code


def attachment_create(*, user: User, upload: UploadedFile) -> Attachment:
    """Check the upload (size, type from its bytes, structure, pixels), re-encode it without metadata, check the
    uploader's quota and store it under generated names. Nothing is stored when any check fails."""
    limit = settings.ATTACHMENT_MAX_BYTES
    size = upload.size or 0
    if size == 0:
        raise AttachmentRefused("The file is empty.", code="empty_file")
    if size > limit:
        raise AttachmentRefused(f"The file is {size} bytes; the limit is {limit} bytes.", code="file_too_large",
                                status_code=413)  # fmt: skip
    upload.seek(0)
    data = upload.read(limit + 1)
    try:
        image = clean(data, max_pixels=settings.ATTACHMENT_MAX_PIXELS)
    except ImageRefused as exc:
        raise AttachmentRefused(exc.detail, code=exc.code, status_code=exc.status) from exc
    name = uuid.uuid4().hex
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()  # one at a time
        used = attachment_bytes_used(user=user)
        quota = settings.ATTACHMENT_QUOTA_BYTES
        if used + len(image.data) + len(image.thumbnail) > quota:
            raise AttachmentRefused(
                f"Your images would take more than your quota of {quota} bytes (you use {used}). Delete some first.",
                code="quota_exceeded", status_code=413,
            )  # fmt: skip
        attachment = Attachment(
            owner=user,
            kind=image.kind,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            bytes=len(image.data),
            sha256=hashlib.sha256(image.data).hexdigest(),
            thumbnail_bytes=len(image.thumbnail),
        )
        attachment.file.save(f"{name}.{image.extension}", ContentFile(image.data), save=False)
        attachment.thumbnail.save(f"{name}.jpg", ContentFile(image.thumbnail), save=False)
        try:
            attachment.save()
        except BaseException:
            _files_delete(attachment)
            raise
    return attachment


def attachment_delete(*, attachment: Attachment) -> None:
    """Remove an image and its files; the messages that carried it no longer show it."""
    with transaction.atomic():
        attachment.delete()
        transaction.on_commit(lambda: _files_delete(attachment))


def _files_delete(attachment: Attachment) -> None:
    for stored in (attachment.file, attachment.thumbnail):
        if stored.name:
            stored.storage.delete(stored.name)


def attachment_ocr(*, attachment: Attachment) -> str | None:
    """The image's text read by OCR, or None if OCR failed. Blocking (seconds, a Tesseract process, bounded by
    ATTACHMENT_OCR_TIMEOUT_SECONDS): call it from a worker thread, never on the event loop. No database."""
    with _OCR_RUNS, attachment.file.open("rb") as stored, Image.open(stored) as image:
        image.load()
        try:
            return image_text(image, timeout=settings.ATTACHMENT_OCR_TIMEOUT_SECONDS)
        except OcrFailed:
            return None


def attachment_ocr_keep(*, attachment: Attachment, text: str) -> None:
    """Keep what OCR read, so the next turn with this image does not read it again."""
    Attachment.objects.filter(pk=attachment.pk).update(ocr_text=text)
    attachment.ocr_text = text
