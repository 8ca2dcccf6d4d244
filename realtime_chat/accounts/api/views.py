"""Account endpoints under /api/auth/: thin views over realtime_chat.accounts.services."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_chat.accounts import services as accounts
from realtime_chat.accounts.api.authenticated import AuthenticatedRequest
from realtime_chat.accounts.api.refresh_cookie import (
    REFRESH_COOKIE_HEADER,
    refresh_cookie_delete,
    refresh_cookie_read,
    refresh_cookie_requested,
    token_pair_response,
)
from realtime_chat.accounts.models import User

TOKEN_PAIR = inline_serializer(
    "TokenPair",
    {
        "access": serializers.CharField(),
        "refresh": serializers.CharField(required=False, help_text="Absent in the cookie flow (X-Refresh-Cookie)."),
    },
)
DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
SIGNUP_ACCEPTED = "Check your email: we sent a message to that address. Open its link, then log in."
SIGNUP_OUTPUT = inline_serializer(
    "SignupAccepted",
    {"detail": serializers.CharField(), "username": serializers.CharField(), "email": serializers.EmailField()},
)


class UserOutputSerializer(serializers.ModelSerializer):
    email_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "email_verified", "date_joined", "is_staff"]
        read_only_fields = fields


class PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class SignupApi(PublicApi):
    """The same answer whether or not the address already has an account (its owner is emailed instead)."""

    throttle_scope = "signup"

    class SignupInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)

    @extend_schema(request=SignupInputSerializer, responses={201: SIGNUP_OUTPUT})
    def post(self, request: Request) -> Response:
        serializer = self.SignupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = accounts.user_create(**data)
        body = {
            "detail": SIGNUP_ACCEPTED,
            "username": data["username"],
            "email": accounts.normalize_email(data["email"]),
        }
        if settings.DEBUG and user is not None:
            # The embedded default has no mail server; the link is also on the console. Development only: the
            # link's presence tells whether an account was made.
            body["verification_link"] = accounts.email_verification_link(user=user)
        return Response(body, status=status.HTTP_201_CREATED)


class TokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=1000)


class VerifyEmailApi(PublicApi):
    @extend_schema(request=TokenInputSerializer, responses={200: UserOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.user_verify_email(token=serializer.validated_data["token"])
        return Response(UserOutputSerializer(user).data)


class EmailInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ResendVerificationApi(PublicApi):
    throttle_scope = "resend_verification"
    throttle_account_field = "email"

    @extend_schema(request=EmailInputSerializer, responses={202: DETAIL})
    def post(self, request: Request) -> Response:
        serializer = EmailInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accounts.verification_resend(email=serializer.validated_data["email"])
        detail = "If that address belongs to an unverified account, a new link is on its way."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


COOKIE_FLOW = OpenApiParameter(
    REFRESH_COOKIE_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    enum=["1"],
    description=(
        "The browser's flow: the refresh token is an HttpOnly cookie, never in JSON. Login and refresh then answer "
        "`{access}` and set the cookie; refresh and logout read the cookie and ignore the body."
    ),
)


class LoginApi(PublicApi):
    throttle_scope = "login"  # shared with the admin's login page (admin_login.py)
    throttle_account_field = "username"

    class LoginInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=LoginInputSerializer, parameters=[COOKIE_FLOW], responses={200: TOKEN_PAIR})
    def post(self, request: Request) -> Response:
        serializer = self.LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return token_pair_response(request, accounts.user_login(**serializer.validated_data))


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


def refresh_token_of(request: Request) -> str:
    """From the cookie when the client asked for the cookie flow, else from the JSON body."""
    if refresh_cookie_requested(request):
        return refresh_cookie_read(request)
    serializer = RefreshInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["refresh"]


class RefreshApi(PublicApi):
    """A new pair; the refresh token sent is spent (see `refresh_token_rotate` for reuse).

    A refusal leaves the cookie alone: it may be a tab that lost a race with another one, whose new token the
    browser now holds."""

    @extend_schema(request=RefreshInputSerializer, parameters=[COOKIE_FLOW], responses={200: TOKEN_PAIR, 401: DETAIL})
    def post(self, request: Request) -> Response:
        return token_pair_response(request, accounts.refresh_token_rotate(refresh=refresh_token_of(request)))


class LogoutApi(PublicApi):
    """Needs only the refresh token, so a client whose access token expired can still log out."""

    @extend_schema(request=RefreshInputSerializer, parameters=[COOKIE_FLOW], responses={205: None})
    def post(self, request: Request) -> Response:
        accounts.refresh_token_revoke(refresh=refresh_token_of(request))
        return Response(status=status.HTTP_205_RESET_CONTENT)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # The cookie goes whatever the answer: a token that cannot be revoked is no use to keep either.
        if refresh_cookie_requested(request):
            refresh_cookie_delete(response)
        return super().finalize_response(request, response, *args, **kwargs)


class MeApi(APIView):
    class MeInputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, required=False)
        first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(UserOutputSerializer(request.user).data)

    @extend_schema(request=MeInputSerializer, responses={200: UserOutputSerializer})
    def patch(self, request: AuthenticatedRequest) -> Response:
        serializer = self.MeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.user_update(user=request.user, **serializer.validated_data)
        return Response(UserOutputSerializer(user).data)


class PasswordChangeApi(APIView):
    class PasswordChangeInputSerializer(serializers.Serializer):
        old_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=PasswordChangeInputSerializer, responses={204: None})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accounts.user_password_change(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
