"""Attachment endpoints: upload an image, read its metadata, its bytes and its thumbnail."""

from collections.abc import Iterable

from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_chat.accounts.api.authenticated import AuthenticatedRequest
from realtime_chat.attachments.models import Attachment
from realtime_chat.attachments.selectors import attachment_get, attachment_get_owned
from realtime_chat.attachments.services import AttachmentRefused, attachment_create, attachment_delete


class AttachmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "kind", "content_type", "width", "height", "bytes", "sha256", "created_at"]
        read_only_fields = fields


class AttachmentListApi(APIView):
    parser_classes = [MultiPartParser]

    class AttachmentUploadInputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True, use_url=False)

    @extend_schema(request=AttachmentUploadInputSerializer, responses={201: AttachmentOutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        if sum(len(files) for _, files in request.FILES.lists()) > 1:
            raise AttachmentRefused("Upload one image per request.", code="too_many_files")
        serializer = self.AttachmentUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = attachment_create(user=request.user, upload=serializer.validated_data["file"])
        return Response(AttachmentOutputSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDetailApi(APIView):
    @extend_schema(responses={200: AttachmentOutputSerializer})
    def get(self, request: AuthenticatedRequest, attachment_id: int) -> Response:
        attachment = attachment_get(user=request.user, attachment_id=attachment_id)
        return Response(AttachmentOutputSerializer(attachment).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, attachment_id: int) -> Response:
        """The uploader deletes an image (freeing its quota); it disappears from the messages that carried it."""
        attachment_delete(attachment=attachment_get_owned(user=request.user, attachment_id=attachment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnyAccept(BaseContentNegotiation):
    """Image bytes go out whatever `Accept` says (an <img> asks for image/*); errors are JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _ImageBytesApi(APIView):
    content_negotiation_class = AnyAccept

    def _image(self, stored: FieldFile, content_type: str, name: str) -> FileResponse:
        response = FileResponse(stored.open("rb"), content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="{name}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class AttachmentContentApi(_ImageBytesApi):
    @extend_schema(responses={(200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: AuthenticatedRequest, attachment_id: int) -> FileResponse:
        """The stored image: re-encoded, without metadata."""
        attachment = attachment_get(user=request.user, attachment_id=attachment_id)
        extension = attachment.file.name.rsplit(".", 1)[-1]
        return self._image(attachment.file, attachment.content_type, f"image-{attachment.pk}.{extension}")


class AttachmentThumbnailApi(_ImageBytesApi):
    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: AuthenticatedRequest, attachment_id: int) -> FileResponse:
        """A small JPEG preview, made once at upload."""
        attachment = attachment_get(user=request.user, attachment_id=attachment_id)
        return self._image(attachment.thumbnail, "image/jpeg", f"thumbnail-{attachment.pk}.jpg")
