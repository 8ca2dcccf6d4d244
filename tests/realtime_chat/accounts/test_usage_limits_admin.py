"""Per-user budget and quota overrides are set in the admin, on the user's page (an inline)."""

import pytest
from django.test import Client
from django.urls import reverse

from realtime_chat.accounts.limits import limits_get
from realtime_chat.accounts.models import UsageLimits
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_admin_sets_a_users_limits_on_the_users_page(client: Client, settings) -> None:
    settings.CHAT_DAILY_TOKEN_BUDGET, settings.RAG_MAX_DOCUMENTS_PER_USER = 5000, 10
    admin, person = UserFactory(is_staff=True, is_superuser=True), UserFactory()
    client.force_login(admin)
    url = reverse("admin:accounts_user_change", args=[person.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields if name not in {"password"}}
    data.update(
        {
            "groups": [], "user_permissions": [], "is_active": "on", "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00", "last_login_0": "", "last_login_1": "",
            "usage_limits-TOTAL_FORMS": "1", "usage_limits-INITIAL_FORMS": "0",
            "usage_limits-MIN_NUM_FORMS": "0", "usage_limits-MAX_NUM_FORMS": "1",
            "usage_limits-0-user": str(person.pk), "usage_limits-0-daily_token_budget": "0",
            "usage_limits-0-max_documents": "", "usage_limits-0-max_bytes": "1000000",
        }
    )  # fmt: skip
    assert limits_get(user=person).daily_token_budget == 5000

    saved = client.post(url, {k: v for k, v in data.items() if v is not None})

    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    limits = UsageLimits.objects.get(user=person)
    assert (limits.daily_token_budget, limits.max_documents, limits.max_bytes) == (0, None, 1_000_000)
    effective = limits_get(user=person)
    assert (effective.daily_token_budget, effective.max_documents, effective.max_bytes) == (0, 10, 1_000_000)
