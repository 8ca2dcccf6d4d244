"""Who besides the uploader may read an attachment. This app knows nothing of chats; the chat app, which links
messages to attachments, registers a rule here ("people of a session it was posted in"), so imports stay one-way."""

from collections.abc import Callable

from django.db.models import Q

from realtime_chat.accounts.models import User

ReaderRule = Callable[[User], Q]
_reader_rules: list[ReaderRule] = []


def attachment_reader_rule_register(rule: ReaderRule) -> None:
    """`rule(user)` is a filter on Attachment naming more attachments `user` may read. Registered once, at start."""
    if rule not in _reader_rules:
        _reader_rules.append(rule)


def readable_by(user: User) -> Q:
    visible = Q(owner=user)
    for rule in _reader_rules:
        visible |= rule(user)
    return visible
