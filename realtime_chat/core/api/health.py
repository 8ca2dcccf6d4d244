"""Health endpoints for load balancers and people: liveness, and readiness with per-dependency detail."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_chat.core.health import health_report

STATUS_CODES = {"ok": 200, "degraded": 200, "down": 503}


class LiveApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("Live", {"status": serializers.CharField()})})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                {"status": serializers.ChoiceField(["ok", "degraded", "down"]), "checks": serializers.DictField()},
            )
        }
    )
    def get(self, request: Request) -> Response:
        status, checks = health_report()
        return Response({"status": status, "checks": checks}, status=STATUS_CODES[status])
