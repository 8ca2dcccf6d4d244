"""Health endpoints for load balancers and people: liveness, and readiness per dependency.

Anyone may ask whether each check passed. What a check found (its message: host names, versions, an exception's
text) and how long it took are for staff and for monitors holding HEALTH_TOKEN (`Authorization: Bearer ...`).
"""

import hmac

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from realtime_chat.core.health import health_report

STATUS_CODES = {"ok": 200, "degraded": 200, "down": 503}
PUBLIC_FIELDS = ("ok", "required")


class LiveApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("Live", {"status": serializers.CharField()})})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class HealthApi(APIView):
    # The admin's login, which never fails; a bearer token is checked by the view, so that a wrong one still gets
    # the public summary rather than a 401.
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        description="Each check's `ok` and `required` for anyone; staff and HEALTH_TOKEN holders also get "
        "`latency_ms` and `message`.",
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                {"status": serializers.ChoiceField(["ok", "degraded", "down"]), "checks": serializers.DictField()},
            )
        },
    )
    def get(self, request: Request) -> Response:
        status, checks = health_report()
        if not _may_see_details(request):
            checks = {name: {key: check[key] for key in PUBLIC_FIELDS} for name, check in checks.items()}
        return Response({"status": status, "checks": checks}, status=STATUS_CODES[status])


def _may_see_details(request: Request) -> bool:
    """A monitor's HEALTH_TOKEN, or a staff user: by an access token, or logged in to the admin."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        expected = settings.HEALTH_TOKEN
        if expected and hmac.compare_digest(credential.encode(), expected.encode()):
            return True
        try:
            authenticated = JWTAuthentication().authenticate(request)
        except exceptions.AuthenticationFailed:
            return False
        return authenticated is not None and _is_staff(authenticated[0])
    return _is_staff(request.user)


def _is_staff(user: object) -> bool:
    return bool(getattr(user, "is_staff", False) and getattr(user, "is_active", False))
