"""The chat socket: `ws://HOST/ws/chat/<session_id>/`. Protocol only: parse a frame, call a service, send frames.

Frames of a turn reach every socket of the session (this one included) through the session's group. The answer
belongs to the session: once its question is saved it runs as a task of the process (`chat.live`), so closing
this socket cancels nothing; `stop` from any socket of the session, in any process, does. A socket that opens
while an answer streams gets `assistant.snapshot` (the text so far) right after `ready`, then the live tokens.

A socket is authenticated for as long as its access token is valid: an `auth` frame with a newer token of the same
user renews it (`auth.renewed`); otherwise the socket is closed with 4401 when the token expires, so a logged-out
or deactivated user's socket does not outlive the token that opened it.
"""

import asyncio
import json
import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.cache import cache

from consumers.protocol import (
    CLOSE_NOT_FOUND,
    CLOSE_RATE_LIMITED,
    CLOSE_UNAUTHENTICATED,
    AuthFrame,
    FrameError,
    MessageFrame,
    PingFrame,
    StopFrame,
    TokenExpired,
    TokenRejected,
    TypingFrame,
    parse_client_text,
)
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import AccessGrant, access_token_check
from realtime_chat.chat import frames
from realtime_chat.chat.answer_store import answer_store
from realtime_chat.chat.broadcast import session_broadcast, session_group
from realtime_chat.chat.live import answer_detach, answer_stop
from realtime_chat.chat.presence import PRESENCE_REFRESH_SECONDS, presence_store
from realtime_chat.chat.selectors import session_get
from realtime_chat.chat.services.turns import chat_turn
from realtime_chat.core.errors import ApplicationError, NotFound
from realtime_chat.core.fanout import Event, group_join, group_leave
from realtime_chat.core.rate_window import hits_within_limit

logger = logging.getLogger(__name__)
TYPING_EVERY_SECONDS = 2.0
_opening: set[asyncio.Task[None]] = set()  # turns whose question is being saved: owned by the process, too


class ChatConsumer(AsyncJsonWebsocketConsumer):
    # No channel layer: the session's events reach this socket through `core.fanout` (a call here, one Redis
    # subscription per process), so Channels' receive loop on the layer would only idle beside it, a task per
    # socket; on channels_redis that loop sometimes ignored its cancellation and held a closing loop forever.
    channel_layer_alias = None  # type: ignore[assignment]  # an alias not configured: Channels gives no layer

    async def connect(self) -> None:
        self.session_id: int = self.scope["url_route"]["kwargs"]["session_id"]
        self.socket_id = uuid.uuid4().hex  # names this socket in presence and in events meant for all but it
        self.user: User | None = None
        # (message id, offset) of the snapshot this socket got: token frames up to that offset are not sent again.
        self.resumed_at: tuple[int, int] | None = None
        # The session's events that arrive while this socket is being told `ready` and the snapshot: sent after them.
        self.held: list[Event] | None = None
        self.typing_at = 0.0  # when this socket last passed a `typing` on
        self.presence_timer: asyncio.Task | None = None
        self.auth_timer: asyncio.Task | None = None
        self.expiry_timer: asyncio.Task | None = None
        await self.accept()  # accept first: close codes only reach a client on an accepted socket
        grant = self.scope.get("access_grant")  # from ?token=, see consumers.auth
        if isinstance(grant, AccessGrant):
            await self._authenticated(grant)
        else:
            self.auth_timer = asyncio.create_task(self._close_unless_authenticated())

    async def disconnect(self, code: int) -> None:
        for timer in (self.auth_timer, self.expiry_timer, self.presence_timer):
            if timer is not None:
                timer.cancel()
        if self.user is not None:
            await group_leave(session_group(self.session_id), self)
            await presence_store().leave(self.session_id, self.socket_id, self.user.username)
            await self._announce_presence()

    # --- Client frames ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self.send_json(frames.error(code="invalid_json", detail="Frames must be JSON text."))
            return
        try:
            frame = parse_client_text(text_data)  # bounded: size, nesting and characters checked first
        except FrameError as exc:
            await self.send_json(frames.error_from(exc))
            return
        user = self.user
        if user is None:
            await self._on_auth(frame)
        elif isinstance(frame, AuthFrame):
            await self._on_renew(frame, user)
        elif isinstance(frame, MessageFrame):
            await self._on_message(frame, user)
        elif isinstance(frame, StopFrame):
            await self._on_stop(user)
        elif isinstance(frame, PingFrame):
            await self.send_json(frames.pong())
        elif isinstance(frame, TypingFrame):
            await self._on_typing(user)

    async def _on_stop(self, user: User) -> None:
        try:
            await answer_stop(user=user, session_id=self.session_id)
        except ApplicationError as exc:
            await self.send_json(frames.error_from(exc))

    async def _on_typing(self, user: User) -> None:
        """To the session's other people, at most once per TYPING_EVERY_SECONDS per user (over all their tabs and
        processes); a flood is dropped here, before it costs anything."""
        now = asyncio.get_running_loop().time()
        if now - self.typing_at < TYPING_EVERY_SECONDS:
            return
        self.typing_at = now
        if await cache.aadd(f"chat-typing:{self.session_id}:{user.pk}", 1, timeout=TYPING_EVERY_SECONDS):
            await session_broadcast(self.session_id, frames.typing(user=user.username), except_user=user.username)

    async def _on_auth(self, frame: Any) -> None:
        grant = None
        if isinstance(frame, AuthFrame):
            grant = await database_sync_to_async(access_token_check)(token=frame.token)
        if grant is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        await self._authenticated(grant)

    async def _on_renew(self, frame: AuthFrame, user: User) -> None:
        grant = await database_sync_to_async(access_token_check)(token=frame.token)
        if grant is None or grant.user.pk != user.pk:
            detail = "That token is not valid for this socket; the current one holds until it expires."
            await self.send_json(frames.error_from(TokenRejected(detail)))
            return
        self._close_when_expired(grant)
        await self.send_json(frames.auth_renewed(expires_in=int(grant.seconds_left())))

    async def _on_message(self, frame: MessageFrame, user: User) -> None:
        task = asyncio.create_task(self._start_turn(frame, user))
        _opening.add(task)
        task.add_done_callback(_opening.discard)

    async def _start_turn(self, frame: MessageFrame, user: User) -> None:
        """Save the question (a refusal answers this socket only), then let the process run the answer: its
        frames reach this socket through the session group, like every other socket of the session."""
        turn = chat_turn(
            user=user,
            session_id=self.session_id,
            content=frame.content,
            client_id=frame.client_id,
            attachments=frame.attachments,
        )
        try:
            created = await anext(turn)
        except ApplicationError as exc:
            await self.send_json(frames.error_from(exc, client_id=frame.client_id))
            return
        if created["type"] == "message.created" and created.get("duplicate"):
            await self.send_json(created)  # a retry of a saved message: only the socket that retried hears of it
            return
        answer_detach(turn)

    # --- Authentication ---------------------------------------------------------------------------

    async def _authenticated(self, grant: AccessGrant) -> None:
        user = grant.user
        if not await _connection_allowed(user):
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        try:
            await database_sync_to_async(session_get)(user=user, session_id=self.session_id)
        except NotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.user = user
        # Joined before the snapshot is read: a frame sent meanwhile is held until the snapshot went out, then
        # trimmed to what the snapshot lacks; none can fall in between.
        self.held = []
        await group_join(session_group(self.session_id), self)
        self._close_when_expired(grant)
        ready = frames.ready(session_id=self.session_id, user=user.username, expires_in=int(grant.seconds_left()))
        await self.send_json(ready)
        await self._snapshot_send()
        while self.held:
            await self._forward(self.held.pop(0))
        self.held = None
        await presence_store().join(self.session_id, self.socket_id, user.username)
        await self.send_json(frames.presence(online=await presence_store().online(self.session_id)))
        await self._announce_presence()
        self.presence_timer = asyncio.create_task(self._presence_refresh(user))

    async def _snapshot_send(self) -> None:
        snapshot = await answer_store().snapshot(self.session_id)
        if snapshot is not None:
            self.resumed_at = (snapshot.message_id, len(snapshot.content))
            await self.send_json(
                frames.assistant_snapshot(
                    message_id=snapshot.message_id,
                    content=snapshot.content,
                    model=snapshot.model,
                    provider=snapshot.provider,
                )
            )

    async def _close_unless_authenticated(self) -> None:
        await asyncio.sleep(settings.CHAT_AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    def _close_when_expired(self, grant: AccessGrant) -> None:
        """(Re)arms the timer that ends the socket when `grant` expires; a renewal replaces it."""
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        self.expiry_timer = asyncio.create_task(self._expire(grant.seconds_left()))

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        detail = "Your login expired. Reconnect, or renew it with an auth frame before it expires."
        await self.send_json(frames.error_from(TokenExpired(detail)))
        await self.close(code=CLOSE_UNAUTHENTICATED)

    # --- Group events ---------------------------------------------------------------------------

    async def group_event(self, event: Event) -> None:
        """The session's events (`chat.broadcast`), handed over by whichever task sent them (`core.fanout`)."""
        if event["type"] == "chat.member_removed":
            if self.user is not None and event["username"] == self.user.username:
                await self.close(code=CLOSE_NOT_FOUND)  # the same answer as for a session that does not exist
        elif self.held is not None:
            self.held.append(event)
        else:
            await self._forward(event)

    async def _forward(self, event: Event) -> None:
        if self._excepted(event):
            return
        text = event["text"]  # already JSON: encoded once for every socket of the session
        if self.resumed_at is not None and (span := event.get("span")) is not None:
            text = self._after_snapshot(text, span, self.resumed_at)
        if text:
            await self.send(text_data=text)

    def _excepted(self, event: Event) -> bool:
        """A frame for everyone but this socket (told directly) or but this socket's user (their own typing)."""
        if "except_socket" in event and event["except_socket"] == self.socket_id:
            return True
        if "only_user" in event and (self.user is None or event["only_user"] != self.user.username):
            return True  # one user's own news (their memories): never to a room's other people
        return "except_user" in event and self.user is not None and event["except_user"] == self.user.username

    # --- Presence -----------------------------------------------------------------------------------

    async def _presence_refresh(self, user: User) -> None:
        """Keep this socket's entry alive; and announce changes nobody else announced (a process that died)."""
        while True:
            await asyncio.sleep(PRESENCE_REFRESH_SECONDS)
            await presence_store().join(self.session_id, self.socket_id, user.username)
            await self._announce_presence()

    async def _announce_presence(self) -> None:
        """Tell the session's sockets when its online set changed (this one has just been told directly)."""
        online = await presence_store().online(self.session_id)
        if await presence_store().announce(self.session_id, online):
            await session_broadcast(self.session_id, frames.presence(online=online), except_socket=self.socket_id)

    def _after_snapshot(self, text: str, span: tuple[int, int, int], resumed_at: tuple[int, int]) -> str:
        """A token frame of the answer this socket got a snapshot of: drop what the snapshot had, trim an overlap."""
        message_id, start, end = span
        resumed_id, resumed_offset = resumed_at
        if message_id != resumed_id or start >= resumed_offset:
            self.resumed_at = None  # caught up: frames go out as they come from now on
            return text
        if end <= resumed_offset:
            return ""
        self.resumed_at = None
        frame = json.loads(text)
        return json.dumps({**frame, "delta": frame["delta"][resumed_offset - start :], "offset": resumed_offset})


async def _connection_allowed(user: User) -> bool:
    """At most CHAT_CONNECTIONS_PER_MINUTE new sockets a user a minute: an atomic count in a fixed window."""
    return await hits_within_limit(
        f"ws-connects:{user.pk}", limit=settings.CHAT_CONNECTIONS_PER_MINUTE, window_seconds=60
    )
