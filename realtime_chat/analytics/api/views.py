"""Usage reports: the requesting user's (`/api/usage/`), and everyone's for staff (`/api/admin/usage/`)."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from rag.quota import document_quota_get
from realtime_chat.accounts.api.authenticated import AuthenticatedRequest
from realtime_chat.analytics.selectors import BUCKET_SIZE, UsageRange, usage_range, usage_report, usage_report_admin
from realtime_chat.chat.budget import token_budget_get

DEFAULT_BUCKETS = {"hour": 24, "day": 7}
# Dates a report can name: far enough for any real range, and clear of datetime's limits (year 1 and 9999).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class UsageRangeSerializer(serializers.Serializer):
    """`from` and `to` (ISO 8601; `to` defaults to now, `from` to 24 hours or 7 days before it), `bucket`."""

    bucket = serializers.ChoiceField(choices=["hour", "day"], default="day")
    to = serializers.DateTimeField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False)  # a keyword in Python: declared here
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        bucket = attrs["bucket"]
        for name in ("from", "to"):
            if name in attrs and not EARLIEST <= attrs[name] <= LATEST:
                raise serializers.ValidationError({name: [f"Between {EARLIEST:%Y} and {LATEST:%Y}, please."]})
        end: datetime = attrs.get("to") or timezone.now()
        start: datetime = attrs.get("from") or end - DEFAULT_BUCKETS[bucket] * BUCKET_SIZE[bucket]
        try:
            attrs["period"] = usage_range(start=start, end=end, bucket=bucket)
        except ValueError as exc:
            raise serializers.ValidationError({"from": [str(exc)]}) from exc
        return attrs


RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATETIME, required=False, description="Start (ISO 8601), aligned down "
                     "to its bucket. Default: 24 hours (`hour`) or 7 days (`day`) before `to`."),
    OpenApiParameter("to", OpenApiTypes.DATETIME, required=False, description="End, exclusive. Default: now."),
    OpenApiParameter("bucket", str, enum=["hour", "day"], required=False, description="Default `day`. At most "
                     "750 buckets a request."),
]  # fmt: skip


def _period(request: AuthenticatedRequest) -> UsageRange:
    params = UsageRangeSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data["period"]


class UsageApi(APIView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT},
        description="Your usage: `totals`, `buckets` (one per hour or day, empty ones included) and `models`, each "
        "with turns, prompt_tokens, completion_tokens, errors, cancellations, fallbacks, answers_with_sources, "
        "tokens_per_second, ttft_p50_ms, ttft_p95_ms, documents_ingested, chunks_ingested; and `budget` (today's "
        "tokens: limit, used, remaining, resets_at; limit 0 = unlimited) and `quota` (documents and bytes held).",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        report = usage_report(period=_period(request), user=request.user)
        budget = token_budget_get(user=request.user)
        report["budget"] = {**asdict(budget), "remaining": budget.remaining}
        report["quota"] = asdict(document_quota_get(user=request.user))
        return Response(report)


class AdminUsageApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT},
        description="Staff only: everyone's usage (the same keys as /api/usage/ without budget and quota), plus "
        "`top_users` (by tokens), `providers` (turns, errors, error_rate, fallbacks, TTFT, circuit-breaker trips) "
        "and `ingestion` (documents, chunks, seconds, chunks_per_second).",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(usage_report_admin(period=_period(request)))
