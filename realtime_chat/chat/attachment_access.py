"""The chat's rule for the attachments app: the people of a session an image was posted in may read it."""

from django.db.models import Q

from realtime_chat.accounts.models import User


def posted_where_user_is(user: User) -> Q:
    """A filter on Attachment (through `Message.attachments`, whose reverse name is `messages`)."""
    return Q(messages__session__owner=user) | Q(messages__session__members__user=user)
