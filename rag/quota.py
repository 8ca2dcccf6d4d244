"""Per-user document quotas, checked at upload before anything is stored."""

from dataclasses import dataclass

from django.db.models import Count, Sum

from rag.errors import QuotaExceeded
from rag.models import Document
from realtime_chat.accounts.limits import limits_get
from realtime_chat.accounts.models import User


@dataclass(frozen=True)
class DocumentQuota:
    documents: int
    bytes: int
    max_documents: int  # 0: unlimited
    max_bytes: int  # 0: unlimited


def document_quota_get(*, user: User) -> DocumentQuota:
    limits = limits_get(user=user)
    held = Document.objects.filter(owner=user).aggregate(count=Count("id"), stored=Sum("size_bytes"))
    return DocumentQuota(
        documents=held["count"],
        bytes=held["stored"] or 0,
        max_documents=limits.max_documents,
        max_bytes=limits.max_bytes,
    )


def document_quota_check(*, user: User, size: int) -> None:
    """Raise QuotaExceeded if one more document of `size` bytes would exceed the user's quotas.

    Two uploads racing may both pass the last place: a quota bounds what one user stores; it is not a lock."""
    limits = limits_get(user=user)
    if not limits.max_documents and not limits.max_bytes:
        return
    quota = document_quota_get(user=user)
    usage = {"documents": quota.documents, "bytes": quota.bytes, "max_documents": quota.max_documents,
             "max_bytes": quota.max_bytes}  # fmt: skip
    if quota.max_documents and quota.documents + 1 > quota.max_documents:
        detail = f"You have {quota.documents} documents; your quota is {quota.max_documents}. Delete one first."
        raise QuotaExceeded(detail, extra=usage)
    if quota.max_bytes and quota.bytes + size > quota.max_bytes:
        detail = (
            f"This file ({size} bytes) would bring your documents to {quota.bytes + size} bytes; your quota is "
            f"{quota.max_bytes} bytes. Delete some documents first."
        )
        raise QuotaExceeded(detail, extra=usage)
