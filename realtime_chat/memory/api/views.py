"""Memory endpoints: everything memory holds about a user, which they can see, add, correct and remove."""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_chat.accounts.api.authenticated import AuthenticatedRequest
from realtime_chat.memory import services
from realtime_chat.memory.api.serializers import MemoryInputSerializer, MemorySerializer
from realtime_chat.memory.selectors import memory_export, memory_get, memory_list


class MemoryListApi(APIView):
    @extend_schema(responses={200: MemorySerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(MemorySerializer(memory_list(user=request.user), many=True).data)

    @extend_schema(request=MemoryInputSerializer, responses={201: MemorySerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = MemoryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        memory = services.memory_create(user=request.user, **serializer.validated_data)
        return Response(MemorySerializer(memory).data, status=status.HTTP_201_CREATED)


class MemoryDetailApi(APIView):
    @extend_schema(responses={200: MemorySerializer})
    def get(self, request: AuthenticatedRequest, memory_id: int) -> Response:
        return Response(MemorySerializer(memory_get(user=request.user, memory_id=memory_id)).data)

    @extend_schema(request=MemoryInputSerializer, responses={200: MemorySerializer})
    def patch(self, request: AuthenticatedRequest, memory_id: int) -> Response:
        memory = memory_get(user=request.user, memory_id=memory_id)
        serializer = MemoryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        memory = services.memory_update(memory=memory, **serializer.validated_data)
        return Response(MemorySerializer(memory).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, memory_id: int) -> Response:
        services.memory_delete(memory=memory_get(user=request.user, memory_id=memory_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemoryExportApi(APIView):
    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: AuthenticatedRequest) -> HttpResponse:
        body = json.dumps({"memories": memory_export(user=request.user)}, indent=2)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="memories.json"'
        return response
