"""Attachment reads, scoped to the asking user: missing and not-yours are one NotFound."""

from collections.abc import Sequence

from django.db.models import Sum

from realtime_chat.accounts.models import User
from realtime_chat.attachments.access import readable_by
from realtime_chat.attachments.models import Attachment
from realtime_chat.core.errors import NotFound
from realtime_chat.core.keys import fits_the_key


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


def attachment_get(*, user: User, attachment_id: int) -> Attachment:
    """An attachment `user` uploaded, or one posted in a session they are in."""
    found = Attachment.objects.filter(pk=attachment_id).filter(readable_by(user)).first()
    if found is None:
        raise AttachmentNotFound("Attachment not found.")
    return found


def attachment_get_owned(*, user: User, attachment_id: int) -> Attachment:
    """An attachment `user` uploaded: only the uploader may delete it (anyone else: the same NotFound)."""
    found = Attachment.objects.filter(pk=attachment_id, owner=user).first()
    if found is None:
        raise AttachmentNotFound("Attachment not found.")
    return found


def attachments_of_uploader(*, user: User, attachment_ids: Sequence[int]) -> list[Attachment]:
    """The attachments `user` uploaded, in the order asked; one that is missing or someone else's is a NotFound
    naming it (the same words for both). Only your own uploads can be put in a message. An id beyond the key's
    range cannot exist: it is not asked for (the database driver would refuse to bind it)."""
    possible = {i for i in attachment_ids if fits_the_key(Attachment, i)}
    found = {a.pk: a for a in Attachment.objects.filter(owner=user, pk__in=possible)}
    for attachment_id in attachment_ids:
        if attachment_id not in found:
            raise AttachmentNotFound(f"Attachment {attachment_id} not found.")
    return [found[attachment_id] for attachment_id in dict.fromkeys(attachment_ids)]


def attachment_bytes_used(*, user: User) -> int:
    used = Attachment.objects.filter(owner=user).aggregate(total=Sum("bytes"), thumbs=Sum("thumbnail_bytes"))
    return (used["total"] or 0) + (used["thumbs"] or 0)
