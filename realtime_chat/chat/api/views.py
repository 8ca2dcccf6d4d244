"""Chat REST endpoints: the same conversations as the socket, for clients that cannot hold one."""

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_chat.accounts.api.authenticated import AuthenticatedRequest
from realtime_chat.chat import frames
from realtime_chat.chat.budget import BudgetExceeded
from realtime_chat.chat.frames import AssistantEndFrame, MessageCreatedFrame, ServerFrame
from realtime_chat.chat.live import answer_follow
from realtime_chat.chat.models import ChatSession, SessionMember
from realtime_chat.chat.presence import presence_store
from realtime_chat.chat.selectors import (
    member_list,
    message_list,
    message_search,
    session_get,
    session_get_owned,
    session_list,
)
from realtime_chat.chat.serializers import ChatSessionSerializer, MessageSerializer, PreferencesSerializer
from realtime_chat.chat.services import chat
from realtime_chat.chat.services.export import session_export_json, session_export_markdown
from realtime_chat.chat.services.personas import persona_for_session, session_persona_set
from realtime_chat.chat.services.turns import chat_turn
from realtime_chat.core.errors import ApplicationError
from realtime_chat.llm.factory import available_models, default_model


class SessionListApi(APIView):
    class SessionCreateInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        persona = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)

    @extend_schema(
        parameters=[OpenApiParameter("archived", bool, required=False)],
        responses={200: ChatSessionSerializer(many=True)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        archived = request.query_params.get("archived")
        flag = None if archived is None else archived.lower() in {"1", "true", "yes"}
        return Response(ChatSessionSerializer(session_list(user=request.user, archived=flag), many=True).data)

    @extend_schema(request=SessionCreateInputSerializer, responses={201: ChatSessionSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.SessionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        persona = persona_for_session(user=request.user, persona_id=data.pop("persona"))
        session = chat.session_create(user=request.user, persona=persona, **data)
        return Response(ChatSessionSerializer(session).data, status=status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    class SessionUpdateInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True)
        archived = serializers.BooleanField(required=False)
        assistant_mode = serializers.ChoiceField(choices=ChatSession.AssistantMode.choices, required=False)
        persona = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    @extend_schema(responses={200: ChatSessionSerializer})
    def get(self, request: AuthenticatedRequest, session_id: int) -> Response:
        return Response(ChatSessionSerializer(session_get(user=request.user, session_id=session_id)).data)

    @extend_schema(request=SessionUpdateInputSerializer, responses={200: ChatSessionSerializer})
    def patch(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = session_get_owned(user=request.user, session_id=session_id)
        serializer = self.SessionUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "persona" in changes:  # null: back to the owner's preferences
            persona = persona_for_session(user=request.user, persona_id=changes.pop("persona"))
            session = session_persona_set(session=session, persona=persona)
        session = chat.session_update(session=session, **changes)
        return Response(ChatSessionSerializer(session).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, session_id: int) -> Response:
        chat.session_delete(session=session_get_owned(user=request.user, session_id=session_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=["owner", "member", "viewer"])
    online = serializers.BooleanField()


class SessionMemberListApi(APIView):
    """The people of a shared session. Everyone in it may list them; only the owner adds."""

    class MemberAddInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=SessionMember.Role.choices)

    @extend_schema(responses={200: MemberSerializer(many=True)})
    def get(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = session_get(user=request.user, session_id=session_id)
        online = set(async_to_sync(presence_store().online)(session.pk))
        members = [
            {"username": username, "role": role, "online": username in online}
            for username, role in member_list(session=session)
        ]
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(request=MemberAddInputSerializer, responses={201: MemberSerializer})
    def post(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = session_get_owned(user=request.user, session_id=session_id)
        serializer = self.MemberAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = chat.member_add(session=session, **serializer.validated_data)
        online = member.user.username in async_to_sync(presence_store().online)(session.pk)
        data = {"username": member.user.username, "role": member.role, "online": online}
        return Response(MemberSerializer(data).data, status=status.HTTP_201_CREATED)


class SessionMemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, session_id: int, username: str) -> Response:
        """The owner removes anyone; a member removes themself (leaves). Their sockets close with 4404."""
        session = session_get(user=request.user, session_id=session_id)
        chat.member_remove(session=session, username=username, acting=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessagePagination(CursorPagination):
    """Cursor pages in the order of the queryset it is given, so the selector is the one place that says it."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request: Request, queryset: QuerySet, view: APIView) -> tuple[str, ...]:
        return tuple(str(field) for field in queryset.query.order_by)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor this list never gave out is bad input (400), not a missing page (DRF's 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ApplicationError("cursor: not a cursor from this list's next or previous link.") from exc


class EventStreamRenderer(BaseRenderer):
    """Lets `Accept: text/event-stream` through content negotiation; errors still go out as an SSE event."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        data = data or {}  # the error body of api_exception_handler: detail, code and maybe field errors
        frame = frames.error(code=data.get("code", "error"), detail=data.get("detail", ""), errors=data.get("errors"))
        return sse_event(frame).encode()


def sse_event(frame: ServerFrame) -> str:
    return f"event: {frame['type']}\ndata: {json.dumps(frame, default=str)}\n\n"


class MessageListApi(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    class MessageCreateInputSerializer(serializers.Serializer):
        content = serializers.CharField(max_length=100_000, trim_whitespace=False, allow_blank=True)
        client_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        attachments = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=64,
            help_text="Ids of images you uploaded (POST /api/attachments/), at most ATTACHMENTS_PER_MESSAGE (4).",
        )  # fmt: skip

        def validate(self, attrs: dict) -> dict:
            """Empty text is a message only with images: without, the field is to blame, as for any blank field."""
            if not attrs["content"] and not attrs["attachments"]:
                raise serializers.ValidationError({"content": ["This field may not be blank."]})
            return attrs

    class MessageListInputSerializer(serializers.Serializer):
        order = serializers.ChoiceField(choices=["oldest", "newest"], default="oldest")
        page_size = serializers.IntegerField(min_value=1, required=False)
        cursor = serializers.CharField(required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("order", str, enum=["oldest", "newest"], required=False,
                             description="`oldest` (the default): the first page holds the oldest messages and "
                             "`next` goes forward in time. `newest`: the first page holds the newest messages, "
                             "newest first, and `next` goes back in time: a client shows the end of a long chat "
                             "first and fetches older pages as the reader scrolls up."),
            OpenApiParameter("page_size", int, required=False, description="Messages a page: 50 unless given, at "
                             "most 200 (larger values are capped)."),
            OpenApiParameter("cursor", str, required=False, description="From a page's `next` or `previous` link."),
        ],
        responses={200: inline_serializer("MessagePage", {
            "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
            "results": MessageSerializer(many=True),
        })},
        description="The chat's history, cursor-paginated: oldest first unless `order=newest`.",
    )  # fmt: skip
    def get(self, request: AuthenticatedRequest, session_id: int) -> Response:
        session = session_get(user=request.user, session_id=session_id)
        params = self.MessageListInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = message_list(session=session, newest_first=params.validated_data["order"] == "newest")
        paginator = MessagePagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(
        request=MessageCreateInputSerializer,
        responses={201: MessageSerializer, (200, "text/event-stream"): str},
        description="Send a message and get the assistant's answer: the finished message as JSON, or with "
        "`Accept: text/event-stream` the same frames as the socket as Server-Sent Events.",
    )
    def post(self, request: AuthenticatedRequest, session_id: int) -> HttpResponseBase:
        serializer = self.MessageCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        turn = chat_turn(user=request.user, session_id=session_id, **serializer.validated_data)
        if request.accepted_renderer.format != "sse":
            final = async_to_sync(_last_frame)(turn)
            if final["type"] == "message.created":  # a retried client_id: the original answer is in the history
                return Response(final["message"], status=status.HTTP_200_OK)
            return Response(final["message"], status=status.HTTP_201_CREATED)
        # Under daphne this runs on the server's event loop, which then streams the rest of the turn.
        first_frame = async_to_sync(anext)(turn)  # errors before the first frame become normal 4xx answers
        response = StreamingHttpResponse(_sse(first_frame, turn), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


async def _sse(first_frame: ServerFrame, turn: AsyncIterator[ServerFrame]) -> AsyncIterator[str]:
    """The turn's frames as events. The answer is detached from this request: if the client goes away, it still
    completes and is saved, like an answer whose socket closed."""
    yield sse_event(first_frame)
    async for frame in answer_follow(turn):
        yield sse_event(frame)


async def _last_frame(turn: AsyncIterator[ServerFrame]) -> MessageCreatedFrame | AssistantEndFrame:
    """The answer (or, for a retried client_id, the question saved the first time); a turn always yields one.
    A turn refused once its question was saved (the day's token budget spent) is answered as that 4xx."""
    last: MessageCreatedFrame | AssistantEndFrame | None = None
    async for frame in turn:
        if frame["type"] == "assistant.end" or frame["type"] == "message.created":
            last = frame
        elif frame["type"] == "error" and frame["code"] == BudgetExceeded.code:
            raise BudgetExceeded.from_frame(frame)
    if last is None:
        raise RuntimeError("The chat turn ended without message.created.")
    return last


class SessionExportApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["md", "json"], required=False)],
        responses={(200, "text/markdown"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: AuthenticatedRequest, session_id: int) -> HttpResponse:
        session = session_get(user=request.user, session_id=session_id)
        kind = request.query_params.get("format", "md")
        if kind == "json":
            response = HttpResponse(session_export_json(session=session), content_type="application/json")
        elif kind == "md":
            response = HttpResponse(
                session_export_markdown(session=session), content_type="text/markdown; charset=utf-8"
            )
        else:
            raise ApplicationError('format must be "md" or "json".')
        response["Content-Disposition"] = f'attachment; filename="chat-{session.pk}.{kind}"'
        return response


class HistorySearchApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True)],
        responses={200: inline_serializer("SearchHit", {"session_title": serializers.CharField(),
                                                        "message": MessageSerializer()}, many=True)},
    )  # fmt: skip
    def get(self, request: AuthenticatedRequest) -> Response:
        query = request.query_params.get("q", "").strip()
        if not query or len(query) > 200:
            raise ApplicationError("Give a search text in q (1 to 200 characters).")
        hits = message_search(user=request.user, query=query)
        return Response([{"session_title": m.session.title, "message": MessageSerializer(m).data} for m in hits])


class PreferencesApi(APIView):
    class PreferencesUpdateInputSerializer(PreferencesSerializer):
        class Meta(PreferencesSerializer.Meta):
            extra_kwargs = {field: {"required": False} for field in PreferencesSerializer.Meta.fields}

    @extend_schema(responses={200: PreferencesSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(PreferencesSerializer(chat.preferences_get(user=request.user)).data)

    @extend_schema(request=PreferencesUpdateInputSerializer, responses={200: PreferencesSerializer})
    def patch(self, request: AuthenticatedRequest) -> Response:
        serializer = self.PreferencesUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        if changes.get("model"):
            _check_model_available(changes["model"])
        preferences = chat.preferences_update(user=request.user, **changes)
        return Response(PreferencesSerializer(preferences).data)


def _check_model_available(name: str) -> None:
    names = {model.name for model in async_to_sync(available_models)()}
    if name not in names:
        offered = ", ".join(sorted(names)) or "none (no model server is reachable)"
        raise ApplicationError(f"Model {name!r} is not available. Available: {offered}.",
                               extra={"errors": {"model": [f"Model {name!r} is not available."]}})  # fmt: skip


class ModelListApi(APIView):
    @extend_schema(
        responses={200: inline_serializer("Models", {"default": serializers.CharField(),
                                                     "models": serializers.ListField(child=serializers.DictField())})}
    )  # fmt: skip
    def get(self, request: AuthenticatedRequest) -> Response:
        models = async_to_sync(available_models)()
        return Response({
            "default": default_model(),
            "models": [{"name": m.name, "provider": m.provider, "size": m.size, "details": m.details} for m in models],
        })  # fmt: skip
