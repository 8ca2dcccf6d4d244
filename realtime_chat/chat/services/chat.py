"""Chat writes: sessions, the user's message (saved before anything can fail), the assistant's answer."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from realtime_chat.accounts.models import User
from realtime_chat.attachments.models import Attachment
from realtime_chat.attachments.selectors import attachments_of_uploader
from realtime_chat.chat.answer_store import answer_store
from realtime_chat.chat.broadcast import session_member_removed
from realtime_chat.chat.models import ChatSession, Message, SessionMember, UserPreferences
from realtime_chat.core.compiled_queries import CompiledQuery
from realtime_chat.core.errors import ApplicationError, Conflict, Forbidden, NotFound
from realtime_chat.core.rate_window import window_hit
from realtime_chat.personas.models import Persona

TITLE_CHARS = 60
ASSISTANT_MENTION = "@assistant"
ABANDONED_ANSWER = "The server stopped while this answer was being generated; the text so far is kept."


class MessageInvalid(ApplicationError):
    code = "invalid_message"


class MessageTooLong(ApplicationError):
    status_code = 413
    code = "message_too_long"


class TooManyAttachments(ApplicationError):
    code = "too_many_attachments"


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


class MemberInvalid(ApplicationError):
    code = "invalid_member"


class SessionBusy(ApplicationError):
    status_code = 409
    code = "session_busy"

    def __init__(self) -> None:
        super().__init__("An answer is still being generated in this session. Wait for it or stop it first.")


class GenerationsBusy(ApplicationError):
    """The user already has `CHAT_MAX_GENERATIONS_PER_USER` answers being generated, in any of their sessions."""

    status_code = 429
    code = "busy"

    def __init__(self, limit: int) -> None:
        answers = "answer" if limit == 1 else "answers"
        super().__init__(
            f"You already have {limit} {answers} being generated. Wait for one to finish (or stop it), then send "
            "this again.",
            extra={"limit": limit},
        )


def session_create(*, user: User, title: str = "", persona: Persona | None = None) -> ChatSession:
    return ChatSession.objects.create(owner=user, title=title.strip()[:200], persona=persona)


def session_update(
    *, session: ChatSession, title: str | None = None, archived: bool | None = None, assistant_mode: str | None = None
) -> ChatSession:
    if title is not None:
        session.title = title.strip()[:200]
    if archived is not None:
        session.archived = archived
    if assistant_mode is not None:
        session.assistant_mode = assistant_mode
    session.save()
    return session


def member_add(*, session: ChatSession, username: str, role: str) -> SessionMember:
    """Let someone into the owner's session. Unknown users, the owner and existing members are refused."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise MemberInvalid(f"There is no user {username!r}.")
    if user.pk == session.owner_id:
        raise MemberInvalid("The owner is already in the session.")
    with transaction.atomic():
        if SessionMember.objects.filter(session=session, user=user).exists():
            raise Conflict(f"{username} is already in this session.")
        return SessionMember.objects.create(session=session, user=user, role=role)


def member_remove(*, session: ChatSession, username: str, acting: User) -> None:
    """The owner removes anyone; a member or viewer removes only themself (leaves). Their sockets are closed by
    the caller's broadcast (`member_removed`), and from then on the session answers them 404."""
    if acting.pk != session.owner_id and acting.username != username:
        raise Forbidden("Only the session's owner may remove someone else.")
    deleted, _ = SessionMember.objects.filter(session=session, user__username=username).delete()
    if not deleted:
        raise NotFound(f"{username} is not a member of this session.")
    session_id = session.pk
    transaction.on_commit(lambda: async_to_sync(session_member_removed)(session_id, username))


def session_delete(*, session: ChatSession) -> None:
    session.delete()


def preferences_get(*, user: User) -> UserPreferences:
    """Preferences exist from first use; reading them creates the defaults. Read on every chat turn, so from SQL
    compiled once (the creation, once per user, goes through the ORM)."""
    preferences = next(iter(_preferences_of.instances(user_id=user.pk)), None)
    if preferences is None:
        preferences, _ = UserPreferences.objects.get_or_create(user=user)
    return preferences


_preferences_of = CompiledQuery(lambda user_id: UserPreferences.objects.filter(user_id=user_id))


def preferences_update(*, user: User, **changes: object) -> UserPreferences:
    preferences = preferences_get(user=user)
    for field, value in changes.items():
        setattr(preferences, field, value)
    preferences.full_clean()
    preferences.save()
    return preferences


def assistant_is_asked(*, session: ChatSession, content: str) -> bool:
    """In `mention` mode the assistant answers only messages that call it; in `always` mode, every message."""
    return session.assistant_mode == ChatSession.AssistantMode.ALWAYS or ASSISTANT_MENTION in content.lower()


def user_message_submit(
    *,
    session: ChatSession,
    content: str,
    client_id: uuid.UUID | None = None,
    author: User | None = None,
    can_write: bool = True,
    attachment_ids: Sequence[int] = (),
    answering: bool = True,
) -> tuple[Message, bool]:
    """Validate, take the session's generation lock (if the assistant is asked) and save the user's message, in
    one transaction. `can_write` is False for a viewer of a shared session: refused, nothing saved. `answering`
    is False when the assistant will not answer even if asked (the asker is over budget): no lock is taken.

    Returns `(message, duplicate)`: resending the same `client_id` (a client retrying after a dropped socket)
    returns the message saved the first time, with `duplicate` True, and takes no lock: nothing is to be answered.
    `attachment_ids`: images the author uploaded (anyone else's is refused as not found), shown with the message.
    """
    if not can_write:
        raise Forbidden("You can read and watch this chat, but not write in it.")
    content = content.strip()
    attachments = message_attachments(author=author, attachment_ids=attachment_ids)
    if not content and not attachments:
        raise MessageInvalid("The message is empty.")
    if len(content) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise MessageTooLong(f"The message is longer than {settings.CHAT_MAX_MESSAGE_CHARS} characters.")
    author_id = author.pk if author is not None else session.owner_id
    titled = {} if session.title else {"title": _title_from(content or "Image")}  # the first message names it
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: only a retried client_id's insert fails (the unique constraint)
                message = Message.objects.create(
                    session=session, role=Message.Role.USER, content=content, client_id=client_id, author=author
                )
        except IntegrityError:
            if client_id is None:
                raise
            return _message_saved_before(session=session, client_id=client_id), True
        _check_rate(author_id=author_id)
        if answering and assistant_is_asked(session=session, content=content):
            _generation_lock_take(session, asker_id=author_id, **titled)
        else:
            ChatSession.objects.filter(pk=session.pk).update(updated_at=timezone.now(), **titled)
        # Its frames are built on the event loop, where no query may run: the attachments are read here (a message
        # without any is known to have none, a query saved on every turn).
        if attachments:
            message.attachments.set(attachments)
            prefetch_related_objects([message], "attachments")
        else:
            none = message.attachments.none()
            none._result_cache = []  # read as it is: not even an empty query compiled
            message._prefetched_objects_cache = {"attachments": none}  # type: ignore[attr-defined]
    if titled:
        session.title = titled["title"]
    return message, False


def _message_saved_before(*, session: ChatSession, client_id: uuid.UUID) -> Message:
    return session.messages.select_related("author").prefetch_related("attachments").get(client_id=client_id)


def message_attachments(*, author: User | None, attachment_ids: Sequence[int]) -> list[Attachment]:
    """The images a message carries: at most ATTACHMENTS_PER_MESSAGE, each uploaded by its author."""
    if not attachment_ids:
        return []
    limit = settings.ATTACHMENTS_PER_MESSAGE
    if len(attachment_ids) > limit:
        raise TooManyAttachments(f"A message may carry at most {limit} images; this one has {len(attachment_ids)}.")
    if author is None:
        raise MessageInvalid("Only a person's message can carry images.")
    return attachments_of_uploader(user=author, attachment_ids=attachment_ids)


def _check_rate(*, author_id: int) -> None:
    """At most CHAT_MESSAGES_PER_MINUTE messages a person a minute, counted in the cache (a fixed window shared by
    every process on Redis): a count of their messages in the database cost a query on every turn."""
    if window_hit(f"chat-messages:{author_id}", window_seconds=60) > settings.CHAT_MESSAGES_PER_MINUTE:
        raise RateLimited(f"You can send {settings.CHAT_MESSAGES_PER_MINUTE} messages a minute. Wait a moment.")


def _generation_lock_take(session: ChatSession, *, asker_id: int, **also: str) -> None:
    """A conditional UPDATE, so two processes racing for one session cannot both win. A lock whose heartbeat
    stopped (its process died) is taken over, and the answer it left streaming is finished as an error.

    Also where the asker's generations at once are capped: their row is locked first (PostgreSQL; SQLite's
    IMMEDIATE transactions already serialize writers), so two sessions racing cannot both take the last place.
    """
    now = timezone.now()
    held_before = session.generating_since is not None  # as loaded: the sweeper finishes answers it frees itself
    limit = settings.CHAT_MAX_GENERATIONS_PER_USER
    if limit > 0:
        if connection.features.has_select_for_update:
            list(User.objects.select_for_update().filter(pk=asker_id).values_list("pk", flat=True))
        # Generating and beating: a lock is always taken with a heartbeat, so a recent one is all that says it.
        stale = now - timedelta(seconds=settings.CHAT_GENERATION_STALE_SECONDS)
        running = (
            ChatSession.objects.filter(generating_for_id=asker_id, generation_heartbeat_at__gte=stale)
            .exclude(pk=session.pk)
            .count()
        )
        if running >= limit:
            raise GenerationsBusy(limit)
    taken = (
        ChatSession.objects.filter(pk=session.pk)
        .filter(Q(generating_since__isnull=True) | _heartbeat_stopped(now))
        .update(generating_since=now, generation_heartbeat_at=now, updated_at=now, generating_for_id=asker_id, **also)
    )
    if not taken:
        raise SessionBusy()
    session.generating_since = session.generation_heartbeat_at = session.updated_at = now
    session.generating_for_id = asker_id
    if held_before:  # taken over from a dead process: finish what it left streaming (a free lock left nothing)
        _abandoned_answers_finish(session.messages.all())


def _heartbeat_stopped(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.CHAT_GENERATION_STALE_SECONDS)
    return Q(generation_heartbeat_at__lt=stale) | Q(generation_heartbeat_at__isnull=True, generating_since__lt=stale)


def _abandoned_answers_finish(messages: QuerySet[Message]) -> int:
    """An answer left `streaming` by a process that died will never finish: end it as an error, keeping its text
    so far (the answer store's, which is up to date to the last flush, else what its heartbeat saved)."""
    abandoned = list(messages.filter(role=Message.Role.ASSISTANT, status=Message.Status.STREAMING))
    for message in abandoned:
        stored = answer_store().take_abandoned(message.session_id, message.pk)
        if stored is not None and len(stored) > len(message.content):
            message.content = stored
        message.status, message.error = Message.Status.ERROR, ABANDONED_ANSWER
        message.save(update_fields=["content", "status", "error"])
    return len(abandoned)


def generation_heartbeat(*, session_id: int, message_id: int, partial_text: str) -> None:
    """The generating process is alive: refresh the lock's heartbeat and keep the answer's text so far, so that
    if the process dies the answer is finished with it."""
    now = timezone.now()
    with transaction.atomic():
        ChatSession.objects.filter(pk=session_id, generating_since__isnull=False).update(generation_heartbeat_at=now)
        Message.objects.filter(pk=message_id, status=Message.Status.STREAMING).update(content=partial_text)


def generation_lock_release(*, session_id: int) -> None:
    ChatSession.objects.filter(pk=session_id).update(generating_since=None, generation_heartbeat_at=None)


def generations_abandoned_finish() -> int:
    """The sweeper's half of crash recovery: sessions whose generating process stopped beating are freed and
    their answers finished as errors, even if nobody sends another message. Returns the sessions freed."""
    now = timezone.now()
    abandoned = ChatSession.objects.filter(generating_since__isnull=False).filter(_heartbeat_stopped(now))
    freed = 0
    for session_id in abandoned.values_list("pk", flat=True):
        with transaction.atomic():
            released = (
                ChatSession.objects.filter(pk=session_id)
                .filter(generating_since__isnull=False)
                .filter(_heartbeat_stopped(timezone.now()))
                .update(generating_since=None, generation_heartbeat_at=None)
            )
            if released:
                _abandoned_answers_finish(Message.objects.filter(session_id=session_id))
                freed += 1
    return freed


def _title_from(content: str) -> str:
    first_line = content.splitlines()[0].strip()
    return first_line if len(first_line) <= TITLE_CHARS else first_line[: TITLE_CHARS - 1].rstrip() + "…"


def assistant_message_start(
    *, session: ChatSession, model: str, provider: str, fallback_from: list[str], asked_by: User | None = None
) -> Message:
    return Message.objects.create(
        session=session,
        role=Message.Role.ASSISTANT,
        asked_by=asked_by,
        status=Message.Status.STREAMING,
        model=model,
        provider=provider,
        fallback_from=fallback_from,
    )


def assistant_message_finish(
    *, message: Message, content: str, status: str, error: str = "", sources: list[dict] | None = None,
    prompt_tokens: int | None = None, completion_tokens: int | None = None,
    first_token_ms: int | None = None, total_ms: int | None = None,
) -> Message:  # fmt: skip
    """Save the answer as it ended and free the session for the next message (the generation is over)."""
    message.content = content
    message.status = status
    message.error = error
    message.sources = sources or []
    message.prompt_tokens = prompt_tokens
    message.completion_tokens = completion_tokens
    message.first_token_ms = first_token_ms
    message.total_ms = total_ms
    with transaction.atomic():
        message.save()
        # The answer is over, so is the session's generation: one UPDATE marks it updated and frees it.
        ChatSession.objects.filter(pk=message.session_id).update(
            updated_at=timezone.now(), generating_since=None, generation_heartbeat_at=None
        )
    return message


def assistant_message_discard(*, message: Message) -> None:
    """Remove an answer nobody heard of (its turn was cancelled before `message.created` went out) and free the
    session."""
    with transaction.atomic():
        message.delete()
        generation_lock_release(session_id=message.session_id)
