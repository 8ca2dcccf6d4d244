"""An uploaded image, stored re-encoded (no metadata) under a generated name, with a thumbnail made once."""

from django.conf import settings
from django.db import models


class Attachment(models.Model):
    class Kind(models.TextChoices):
        """The format sniffed from the upload's bytes (what the uploader sent, not what is stored)."""

        PNG = "png"
        JPEG = "jpeg"
        WEBP = "webp"
        GIF = "gif"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=32)  # of the stored bytes: a GIF is stored as its first frame's PNG
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()  # of the stored image
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="attachments/", max_length=200)
    thumbnail = models.FileField(upload_to="attachments/thumbnails/", max_length=200)
    thumbnail_bytes = models.PositiveIntegerField(default=0)
    # The image's text as OCR read it, for models that cannot see images. None: not read yet ("" is no text found).
    ocr_text = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="attachment_owner_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.width}x{self.height} ({self.pk})"
