"""The admin pages load, list and search for a staff user."""

import pytest
from django.test import Client
from django.urls import reverse

from realtime_chat.chat.models import Message
from realtime_chat.chat.services.chat import preferences_get, session_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["accounts_user", "chat_chatsession", "chat_message", "chat_userpreferences"])
def test_admin_changelist_and_search_load(client: Client, model: str) -> None:
    admin = UserFactory(is_staff=True, is_superuser=True)
    session = session_create(user=admin, title="Admin's chat")
    Message.objects.create(session=session, role="user", content="hello")
    preferences_get(user=admin)
    client.force_login(admin)
    url = reverse(f"admin:{model}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "hello"}).status_code == 200


def test_admin_is_closed_to_non_staff(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse("admin:chat_message_changelist"))
    assert response.status_code == 302
