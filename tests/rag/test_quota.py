"""Document quotas at upload: 413 `quota_exceeded` past the documents or bytes a user may hold; per-user
overrides from the admin; deleting frees the place."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from rag.models import Document
from realtime_chat.accounts.models import UsageLimits, User

pytestmark = pytest.mark.django_db
LIST = reverse("document-list")


def upload(client: APIClient, name: str, text: str):
    return client.post(LIST, {"file": SimpleUploadedFile(name, text.encode())}, format="multipart")


def test_upload_past_the_document_quota_is_413_and_nothing_is_stored(auth_client: APIClient, settings) -> None:
    settings.RAG_MAX_DOCUMENTS_PER_USER = 2
    assert upload(auth_client, "a.txt", "First notes about insulin.").status_code == 202
    assert upload(auth_client, "b.txt", "Second notes about glucose.").status_code == 202

    refused = upload(auth_client, "c.txt", "Third notes about metformin.")

    assert refused.status_code == 413
    body = refused.json()
    assert body["code"] == "quota_exceeded" and "quota is 2" in body["detail"]
    assert (body["documents"], body["max_documents"]) == (2, 2)
    assert Document.objects.count() == 2
    first = Document.objects.order_by("id").first()
    assert first is not None
    assert auth_client.delete(reverse("document-detail", kwargs={"pk": first.pk})).status_code == 204
    assert upload(auth_client, "c.txt", "Third notes about metformin.").status_code == 202  # the place is free


def test_upload_past_the_byte_quota_is_413(auth_client: APIClient, settings) -> None:
    settings.RAG_MAX_BYTES_PER_USER = 100
    assert upload(auth_client, "a.txt", "x" * 60 + " words").status_code == 202
    refused = upload(auth_client, "b.txt", "y" * 60 + " words")
    assert refused.status_code == 413
    assert refused.json()["code"] == "quota_exceeded" and refused.json()["bytes"] == 66


def test_quotas_are_per_user_and_an_admin_override_wins(
    auth_client: APIClient, user: User, stranger: User, settings
) -> None:
    settings.RAG_MAX_DOCUMENTS_PER_USER = 1
    Document.objects.create(owner=stranger, title="theirs", kind="txt", size_bytes=5, sha256="0" * 64)
    assert upload(auth_client, "a.txt", "Mine about insulin.").status_code == 202  # the stranger's is not mine
    assert upload(auth_client, "b.txt", "More about glucose.").status_code == 413
    UsageLimits.objects.create(user=user, max_documents=0)  # unlimited for this user
    assert upload(auth_client, "b.txt", "More about glucose.").status_code == 202
    UsageLimits.objects.filter(user=user).update(max_documents=None, max_bytes=10)  # default count, tiny bytes
    refused = upload(auth_client, "c.txt", "Even more.")
    assert refused.status_code == 413 and refused.json()["max_bytes"] == 10
