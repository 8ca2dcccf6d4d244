"""Persona endpoints: a user's own personas and the shared ones staff publish."""

from asgiref.sync import async_to_sync
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime_chat.accounts.api.authenticated import AuthenticatedRequest
from realtime_chat.core.errors import ApplicationError
from realtime_chat.llm.factory import available_models
from realtime_chat.personas import services
from realtime_chat.personas.api.serializers import PersonaInputSerializer, PersonaSerializer
from realtime_chat.personas.selectors import persona_get, persona_get_owned, persona_list


class PersonaListApi(APIView):
    @extend_schema(responses={200: PersonaSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(PersonaSerializer(persona_list(user=request.user), many=True).data)

    @extend_schema(request=PersonaInputSerializer, responses={201: PersonaSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = PersonaInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _check_model_available(serializer.validated_data.get("model", ""))
        persona = services.persona_create(user=request.user, **serializer.validated_data)
        return Response(PersonaSerializer(persona).data, status=status.HTTP_201_CREATED)


class PersonaDetailApi(APIView):
    @extend_schema(responses={200: PersonaSerializer})
    def get(self, request: AuthenticatedRequest, persona_id: int) -> Response:
        return Response(PersonaSerializer(persona_get(user=request.user, persona_id=persona_id)).data)

    @extend_schema(request=PersonaInputSerializer, responses={200: PersonaSerializer})
    def patch(self, request: AuthenticatedRequest, persona_id: int) -> Response:
        persona = persona_get_owned(user=request.user, persona_id=persona_id)
        serializer = PersonaInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        _check_model_available(serializer.validated_data.get("model", ""))
        persona = services.persona_update(persona=persona, user=request.user, **serializer.validated_data)
        return Response(PersonaSerializer(persona).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, persona_id: int) -> Response:
        services.persona_delete(persona=persona_get_owned(user=request.user, persona_id=persona_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _check_model_available(name: str) -> None:
    """A persona naming a model no server offers would fail every answer: refused when it is saved."""
    if not name:
        return
    names = {model.name for model in async_to_sync(available_models)()}
    if name not in names:
        offered = ", ".join(sorted(names)) or "none (no model server is reachable)"
        raise ApplicationError(f"Model {name!r} is not available. Available: {offered}.",
                               extra={"errors": {"model": [f"Model {name!r} is not available."]}})  # fmt: skip
