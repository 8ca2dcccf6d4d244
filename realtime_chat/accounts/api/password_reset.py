"""Password reset endpoints under /api/auth/: thin views over realtime_chat.accounts.password_reset."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from realtime_chat.accounts import password_reset
from realtime_chat.accounts.api.views import DETAIL, EmailInputSerializer, PublicApi

REQUEST_ACCEPTED = "If an account uses that address, we sent it a link to choose a new password."


class PasswordResetRequestApi(PublicApi):
    """Same answer whether or not the address has an account, so it cannot be used to find accounts."""

    throttle_scope = "password_reset"
    throttle_account_field = "email"

    @extend_schema(request=EmailInputSerializer, responses={202: DETAIL})
    def post(self, request: Request) -> Response:
        serializer = EmailInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset.password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": REQUEST_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(PublicApi):
    class PasswordResetConfirmInputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=1000)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=PasswordResetConfirmInputSerializer, responses={204: None, 400: DETAIL})
    def post(self, request: Request) -> Response:
        serializer = self.PasswordResetConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password_reset.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
