"""Document and search endpoints: thin views over rag.services, rag.selectors and the retriever."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from rag import selectors, services
from rag.conf import int_setting
from rag.errors import TooManyFiles
from rag.models import Document
from rag.retrieval.retriever import retrieve_for_user
from realtime_chat.accounts.api.authenticated import AuthenticatedRequest


class DocumentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "original_name",
            "kind",
            "size_bytes",
            "scope",
            "status",
            "stage",
            "progress",
            "eta_seconds",
            "error",
            "attempts",
            "page_count",
            "chunk_count",
            "created_at",
            "updated_at",
            "ingested_at",
        ]
        read_only_fields = fields


class DocumentListApi(APIView):
    parser_classes = [MultiPartParser]

    class DocumentUploadInputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True, use_url=False)
        title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        scope = serializers.ChoiceField(choices=Document.Scope.choices, default=Document.Scope.PRIVATE)

    @extend_schema(responses={200: DocumentOutputSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        documents = selectors.document_list(user=request.user)
        return Response(DocumentOutputSerializer(documents, many=True).data)

    @extend_schema(request=DocumentUploadInputSerializer, responses={202: DocumentOutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        if sum(len(files) for _, files in request.FILES.lists()) > 1:
            raise TooManyFiles("Upload one file per request.")
        serializer = self.DocumentUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = services.document_create(
            user=request.user, upload=data["file"], title=data["title"], scope=data["scope"]
        )
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentDetailApi(APIView):
    @extend_schema(responses={200: DocumentOutputSerializer})
    def get(self, request: AuthenticatedRequest, pk: int) -> Response:
        return Response(DocumentOutputSerializer(selectors.document_get(user=request.user, pk=pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        services.document_delete(document=selectors.document_get_owned(user=request.user, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReindexApi(APIView):
    @extend_schema(request=None, responses={202: DocumentOutputSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        document = services.document_reindex(document=selectors.document_get_owned(user=request.user, pk=pk))
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentCancelApi(APIView):
    """Stop a queued or running ingestion (409 for any other state); it keeps no chunks."""

    @extend_schema(request=None, responses={200: DocumentOutputSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        document = services.document_cancel(document=selectors.document_get_owned(user=request.user, pk=pk))
        return Response(DocumentOutputSerializer(document).data)


class DocumentRetryApi(APIView):
    """Queue a failed or cancelled ingestion again (409 for any other state)."""

    @extend_schema(request=None, responses={202: DocumentOutputSerializer})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        document = services.document_retry(document=selectors.document_get_owned(user=request.user, pk=pk))
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class RetrievedChunkOutputSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_title = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField()
    position = serializers.IntegerField()
    text = serializers.CharField()
    score = serializers.FloatField()


class SearchApi(APIView):
    """Ranked chunks for a query, for inspecting what the chat would retrieve."""

    class SearchInputSerializer(serializers.Serializer):
        query = serializers.CharField(max_length=2000)
        top_k = serializers.IntegerField(min_value=1, default=5)
        history = serializers.ListField(
            child=serializers.CharField(max_length=2000, allow_blank=True), max_length=20, default=list
        )

        def validate_top_k(self, value: int) -> int:
            limit = int_setting("RAG_SEARCH_MAX_TOP_K")
            if value > limit:
                raise serializers.ValidationError(f"Ensure this value is less than or equal to {limit}.")
            return value

    @extend_schema(
        request=SearchInputSerializer,
        responses={200: serializers.ListSerializer(child=RetrievedChunkOutputSerializer())},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.SearchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chunks = retrieve_for_user(user=request.user, **serializer.validated_data)
        return Response({"results": RetrievedChunkOutputSerializer([asdict(c) for c in chunks], many=True).data})
