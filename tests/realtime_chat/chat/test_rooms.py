"""Shared sessions over REST: the owner manages members, members write, viewers read, strangers see nothing;
every endpoint answers a non-member exactly as for a session that does not exist."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.models import ChatSession, Message, SessionMember
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


@pytest.fixture
def room(user: User) -> ChatSession:
    session = session_create(user=user, title="Trip planning")
    Message.objects.create(session=session, role="user", author=user, content="Where shall we go?")
    return session


@pytest.fixture
def member(room: ChatSession) -> User:
    person = UserFactory(username="bob")
    member_add(session=room, username=person.username, role="member")
    return person


@pytest.fixture
def viewer(room: ChatSession) -> User:
    person = UserFactory(username="carol")
    member_add(session=room, username=person.username, role="viewer")
    return person


def members_url(room: ChatSession, username: str | None = None) -> str:
    if username is None:
        return reverse("session-members", args=[room.pk])
    return reverse("session-member-detail", args=[room.pk, username])


def test_the_owner_adds_a_member_and_everyone_in_the_room_lists_them(room, user: User, viewer: User) -> None:
    dave = UserFactory(username="dave")
    added = client_of(user).post(members_url(room), {"username": "dave", "role": "member"}, format="json")
    assert added.status_code == 201
    assert added.json() == {"username": "dave", "role": "member", "online": False}
    for person in (user, viewer, dave):
        listed = client_of(person).get(members_url(room))
        assert listed.status_code == 200
        assert listed.json() == [
            {"username": user.username, "role": "owner", "online": False},
            {"username": "carol", "role": "viewer", "online": False},
            {"username": "dave", "role": "member", "online": False},
        ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "nobody-here", "role": "member"}, 400, "invalid_member"),
        ({"username": "OWNER", "role": "member"}, 400, "invalid_member"),  # replaced by the owner's name below
        ({"username": "bob", "role": "member"}, 409, "conflict"),
        ({"username": "bob", "role": "admin"}, 400, "invalid"),
        ({"role": "member"}, 400, "invalid"),
        ([1, 2], 400, "invalid"),
    ],
)
def test_bad_member_requests_are_clear_errors_and_change_nothing(
    room, user: User, member: User, body, status: int, code: str
) -> None:
    if isinstance(body, dict) and body.get("username") == "OWNER":
        body = {**body, "username": user.username}  # adding yourself
    response = client_of(user).post(members_url(room), body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code and response.json()["detail"]
    assert list(SessionMember.objects.values_list("user__username", "role")) == [("bob", "member")]


def test_only_the_owner_manages_members_renames_or_deletes(room, member: User, viewer: User) -> None:
    for person in (member, viewer):
        client = client_of(person)
        adds = client.post(members_url(room), {"username": "zed", "role": "member"}, format="json")
        removes = client.delete(members_url(room, "carol" if person == member else "bob"))
        renames = client.patch(reverse("session-detail", args=[room.pk]), {"title": "Mine now"}, format="json")
        deletes = client.delete(reverse("session-detail", args=[room.pk]))
        assert [r.status_code for r in (adds, removes, renames, deletes)] == [403, 403, 403, 403]
        assert {r.json()["code"] for r in (adds, removes, renames, deletes)} == {"forbidden"}
    room.refresh_from_db()
    assert room.title == "Trip planning" and SessionMember.objects.count() == 2


def test_a_member_sees_the_room_reads_exports_and_searches_it(room, member: User) -> None:
    client = client_of(member)
    assert room.pk in [s["id"] for s in client.get(reverse("session-list")).json()]
    detail = client.get(reverse("session-detail", args=[room.pk])).json()
    assert (detail["owner"], detail["assistant_mode"]) == (room.owner.username, "always")
    history = client.get(reverse("session-messages", args=[room.pk])).json()["results"]
    assert [(m["author"], m["content"]) for m in history] == [(room.owner.username, "Where shall we go?")]
    assert client.get(reverse("session-export", args=[room.pk]), {"format": "json"}).status_code == 200
    hits = client.get(reverse("history-search"), {"q": "shall we"}).json()
    assert [hit["message"]["content"] for hit in hits] == ["Where shall we go?"]


def test_a_stranger_gets_404_everywhere_like_for_a_missing_session(room, member: User, stranger: User) -> None:
    client = client_of(stranger)
    urls = [
        ("get", reverse("session-detail", args=[room.pk])),
        ("patch", reverse("session-detail", args=[room.pk])),
        ("delete", reverse("session-detail", args=[room.pk])),
        ("get", reverse("session-messages", args=[room.pk])),
        ("post", reverse("session-messages", args=[room.pk])),
        ("get", reverse("session-export", args=[room.pk])),
        ("get", members_url(room)),
        ("post", members_url(room)),
        ("delete", members_url(room, "bob")),
    ]
    body = {"username": "x", "role": "member", "content": "hi"}
    for method, url in urls:
        response = getattr(client, method)(url, body, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), (method, url)
        for missing_id in (999999, 2**128 - 1):  # the second is beyond any integer column (found by the fuzzer)
            missing = getattr(client, method)(url.replace(f"/{room.pk}/", f"/{missing_id}/"), body, format="json")
            assert (missing.status_code, missing.json()) == (404, response.json()), (method, url, missing_id)
    assert room.pk not in [s["id"] for s in client.get(reverse("session-list")).json()]
    assert client.get(reverse("history-search"), {"q": "shall we"}).json() == []


def test_a_member_leaves_and_then_gets_404(room, member: User) -> None:
    client = client_of(member)
    assert client.delete(members_url(room, "bob")).status_code == 204
    assert client.get(reverse("session-messages", args=[room.pk])).status_code == 404
    assert client.delete(members_url(room, "bob")).status_code == 404


def test_the_owner_removes_a_member_who_then_gets_404(room, user: User, member: User) -> None:
    assert client_of(user).delete(members_url(room, "bob")).status_code == 204
    assert client_of(member).get(reverse("session-detail", args=[room.pk])).status_code == 404
    assert client_of(user).delete(members_url(room, "nobody")).status_code == 404


def test_a_viewer_reads_but_a_message_from_a_viewer_is_refused_403(room, viewer: User) -> None:
    client = client_of(viewer)
    assert client.get(reverse("session-messages", args=[room.pk])).status_code == 200
    response = client.post(reverse("session-messages", args=[room.pk]), {"content": "Let me in"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert not Message.objects.filter(content="Let me in").exists()


def test_in_mention_mode_only_messages_calling_the_assistant_are_answered(room, user: User, member: User, settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"  # nothing listens: the extractive last resort answers at once
    owner = client_of(user)
    bad = owner.patch(reverse("session-detail", args=[room.pk]), {"assistant_mode": "sometimes"}, format="json")
    assert bad.status_code == 400
    patched = owner.patch(reverse("session-detail", args=[room.pk]), {"assistant_mode": "mention"}, format="json")
    assert patched.json()["assistant_mode"] == "mention"
    preferences_update(user=member, use_rag=False)
    client = client_of(member)

    chatter = client.post(reverse("session-messages", args=[room.pk]), {"content": "Lisbon?"}, format="json")
    asked = client.post(reverse("session-messages", args=[room.pk]), {"content": "@assistant Lisbon?"}, format="json")

    assert chatter.status_code == 200 and chatter.json()["author"] == "bob"  # saved, not answered
    assert asked.status_code == 201 and asked.json()["role"] == "assistant"
    roles = list(room.messages.order_by("id").values_list("role", "author__username"))
    assert roles[1:] == [("user", "bob"), ("user", "bob"), ("assistant", None)]
