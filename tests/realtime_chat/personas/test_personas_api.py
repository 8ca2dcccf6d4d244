"""Personas over the REST API: a user's own, the shared ones staff publish, scope, bad input, the session's
persona, and the admin."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.models import ChatSession
from realtime_chat.chat.services.chat import member_add, session_create
from realtime_chat.chat.services.personas import session_persona
from realtime_chat.personas.models import Persona
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PIRATE = {"name": "Pirate", "description": "Talks like one", "system_prompt": "Answer like a pirate.",
          "temperature": 0.2, "top_p": 0.5, "max_tokens": 40, "use_rag": False, "rag_top_k": 3}  # fmt: skip


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


@pytest.fixture
def staff() -> User:
    return UserFactory(is_staff=True)


@pytest.fixture
def strangers_persona(stranger: User) -> Persona:
    return Persona.objects.create(owner=stranger, name="Secret canary 5c1d", system_prompt="private")


def test_create_read_update_delete_my_persona(auth_client: APIClient, user: User) -> None:
    created = auth_client.post(reverse("persona-list"), PIRATE, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {key: body[key] for key in PIRATE} == PIRATE
    assert body["owner"] == user.username and body["shared"] is False and body["model"] == ""
    url = reverse("persona-detail", args=[body["id"]])
    assert auth_client.get(url).json()["name"] == "Pirate"
    patched = auth_client.patch(url, {"name": "Captain", "temperature": None}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["temperature"], patched.json()["top_p"]) == ("Captain", None, 0.5)
    assert auth_client.delete(url).status_code == 204
    assert auth_client.get(url).status_code == 404


def test_list_holds_mine_and_shared_never_a_strangers_private_one(
    auth_client: APIClient, user: User, staff: User, strangers_persona: Persona
) -> None:
    Persona.objects.create(owner=user, name="Mine")
    Persona.objects.create(owner=staff, name="Company tutor", shared=True)
    names = [persona["name"] for persona in auth_client.get(reverse("persona-list")).json()]
    assert names == ["Mine", "Company tutor"]  # my own first


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_strangers_persona_is_404_like_a_missing_one(
    auth_client: APIClient, strangers_persona: Persona, method: str
) -> None:
    for persona_id in (strangers_persona.pk, 999_999):
        response = getattr(auth_client, method)(reverse("persona-detail", args=[persona_id]), {}, format="json")
        assert response.status_code == 404
        assert response.json() == {"detail": "Persona not found.", "code": "not_found"}
    assert Persona.objects.get(pk=strangers_persona.pk).name == "Secret canary 5c1d"


def test_only_staff_share_and_only_the_owner_changes_a_shared_persona(auth_client: APIClient, staff: User) -> None:
    refused = auth_client.post(reverse("persona-list"), {**PIRATE, "shared": True}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert not Persona.objects.exists()
    published = client_of(staff).post(reverse("persona-list"), {**PIRATE, "shared": True}, format="json")
    assert published.status_code == 201 and published.json()["shared"] is True
    url = reverse("persona-detail", args=[published.json()["id"]])
    assert auth_client.get(url).status_code == 200  # every user may read and use it
    for response in (auth_client.patch(url, {"name": "Mine now"}, format="json"), auth_client.delete(url)):
        assert response.status_code == 403 and response.json()["detail"]
    assert Persona.objects.get().name == "Pirate"


def test_a_user_cannot_share_an_existing_persona_either(auth_client: APIClient, user: User) -> None:
    persona = Persona.objects.create(owner=user, name="Mine")
    response = auth_client.patch(reverse("persona-detail", args=[persona.pk]), {"shared": True}, format="json")
    assert response.status_code == 403
    persona.refresh_from_db()
    assert persona.shared is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Hot", "temperature": 2.5}, "temperature"),
        ({"name": "Hot", "top_p": -0.1}, "top_p"),
        ({"name": "Long", "max_tokens": 0}, "max_tokens"),
        ({"name": "Long", "max_tokens": "many"}, "max_tokens"),
        ({"name": "Deep", "rag_top_k": 21}, "rag_top_k"),
        ({"name": "Loud", "system_prompt": "x" * 4001}, "system_prompt"),
        ({"name": "Odd", "use_rag": "perhaps"}, "use_rag"),
        ({"name": "Ghost", "model": "no-such-model:1b"}, "model"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(auth_client: APIClient, settings, payload: dict, field: str) -> None:
    settings.OLLAMA_HOST = "http://127.0.0.1:9"  # no model server: no model is available
    response = auth_client.post(reverse("persona-list"), payload, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["detail"] and field in response.json()["errors"]
    assert not Persona.objects.exists()


def test_a_second_persona_with_the_same_name_is_a_conflict(auth_client: APIClient) -> None:
    assert auth_client.post(reverse("persona-list"), PIRATE, format="json").status_code == 201
    response = auth_client.post(reverse("persona-list"), PIRATE, format="json")
    assert response.status_code == 409 and "Pirate" in response.json()["detail"]


@pytest.mark.parametrize("name", ["persona-list", "persona-detail"])
def test_no_token_or_a_forged_one_is_401(api_client: APIClient, user: User, name: str) -> None:
    persona = Persona.objects.create(owner=user, name="Mine")
    url = reverse(name, args=[persona.pk] if name == "persona-detail" else [])
    assert api_client.get(url).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Bearer forged.token.value")
    assert api_client.get(url).status_code == 401
    assert api_client.post(url, PIRATE, format="json").status_code in {401, 405}


# --- the session's persona ----------------------------------------------------------------------


def test_a_session_takes_a_persona_at_creation_and_by_patch(auth_client: APIClient, user: User, staff: User) -> None:
    mine = Persona.objects.create(owner=user, name="Mine")
    shared = Persona.objects.create(owner=staff, name="Shared", shared=True)
    created = auth_client.post(reverse("session-list"), {"title": "t", "persona": mine.pk}, format="json")
    assert created.status_code == 201 and created.json()["persona"] == mine.pk
    url = reverse("session-detail", args=[created.json()["id"]])
    assert auth_client.patch(url, {"persona": shared.pk}, format="json").json()["persona"] == shared.pk
    assert auth_client.patch(url, {"persona": None}, format="json").json()["persona"] is None
    assert auth_client.patch(url, {"title": "kept"}, format="json").json()["persona"] is None


def test_deleting_a_persona_leaves_its_sessions_on_the_preferences(auth_client: APIClient, user: User) -> None:
    persona = Persona.objects.create(owner=user, name="Mine")
    session = session_create(user=user, persona=persona)
    assert auth_client.delete(reverse("persona-detail", args=[persona.pk])).status_code == 204
    session.refresh_from_db()
    assert session.persona is None


def test_a_session_refuses_a_persona_its_owner_cannot_use(
    auth_client: APIClient, user: User, strangers_persona: Persona
) -> None:
    for persona_id in (strangers_persona.pk, 999_999):
        created = auth_client.post(reverse("session-list"), {"persona": persona_id}, format="json")
        assert created.status_code == 400 and "persona" in created.json()["errors"]
    assert not ChatSession.objects.filter(owner=user).exists()  # nothing half-created
    session = session_create(user=user)
    url = reverse("session-detail", args=[session.pk])
    for bad in (strangers_persona.pk, "pirate", 0):
        response = auth_client.patch(url, {"persona": bad}, format="json")
        assert response.status_code == 400 and "persona" in response.json()["errors"]
    session.refresh_from_db()
    assert session.persona is None


def test_a_room_member_cannot_change_the_persona(user: User, stranger: User) -> None:
    room = session_create(user=user)
    member_add(session=room, username=stranger.username, role="member")
    persona = Persona.objects.create(owner=stranger, name="Theirs")
    response = client_of(stranger).patch(reverse("session-detail", args=[room.pk]), {"persona": persona.pk},
                                         format="json")  # fmt: skip
    assert response.status_code == 403


# --- admin --------------------------------------------------------------------------------------


def test_the_admin_lists_and_searches_personas(client: Client, staff: User) -> None:
    admin = UserFactory(is_staff=True, is_superuser=True)
    Persona.objects.create(owner=staff, name="Company tutor", shared=True)
    client.force_login(admin)
    url = reverse("admin:personas_persona_changelist")
    response = client.get(url, {"q": "tutor"})
    assert response.status_code == 200 and b"Company tutor" in response.content
    assert client.get(url, {"shared__exact": "1"}).status_code == 200


def test_a_shared_persona_unshared_later_no_longer_answers_other_users_chats(user: User, staff: User) -> None:
    persona = Persona.objects.create(owner=staff, name="Company tutor", shared=True)
    session = session_create(user=user, persona=persona)
    assert session_persona(session=session) == persona
    persona.shared = False
    persona.save()
    session.refresh_from_db()
    assert session_persona(session=session) is None  # the owner's preferences answer again
    assert session_persona(session=session_create(user=staff, persona=persona)) == persona  # still the staff's own
