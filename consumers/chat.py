"""The chat socket: `ws://HOST/ws/chat/<session_id>/`. Protocol only: parse a frame, call a service, send frames.

Frames of a turn reach every socket of the session (this one included) through the session's group; the turn
itself runs as a task of the socket that asked for it, so `stop` (from any tab) and a disconnect cancel it.
"""

import asyncio
import json
import logging
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
    error_frame,
    parse_client_frame,
)
from realtime_chat.broadcast import session_group, session_stop_request
from realtime_chat.errors import ApplicationError, NotFound
from realtime_chat.models import User
from realtime_chat.selectors.chat import session_get
from realtime_chat.services.accounts import user_from_access_token
from realtime_chat.services.turns import chat_turn

logger = logging.getLogger(__name__)
DISCONNECT_SAVE_SECONDS = 10  # how long a closing socket waits for its cancelled answer to be saved


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.session_id: int = self.scope["url_route"]["kwargs"]["session_id"]
        self.user: User | None = None
        # Turns this socket started. The database lock, not this set, decides whether a session is busy: a turn
        # that has sent `assistant.end` may still be finishing here when the client sends its next message.
        self.generations: set[asyncio.Task] = set()
        self.auth_timer: asyncio.Task | None = None
        await self.accept()  # accept first: close codes only reach a client on an accepted socket
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._authenticated(user)
        else:
            self.auth_timer = asyncio.create_task(self._close_unless_authenticated())

    async def disconnect(self, code: int) -> None:
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        running = self._cancel_generations()  # partial answers are saved as cancelled
        if running:
            await asyncio.wait(running, timeout=DISCONNECT_SAVE_SECONDS)
        if self.user is not None:
            await self.channel_layer.group_discard(session_group(self.session_id), self.channel_name)

    # --- Client frames ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            data = json.loads(text_data or "")
        except json.JSONDecodeError:
            await self.send_json({"type": "error", "code": "invalid_json", "detail": "Frames must be JSON text."})
            return
        try:
            frame = parse_client_frame(data)
        except FrameError as exc:
            await self.send_json(error_frame(exc))
            return
        if self.user is None:
            await self._on_auth(frame)
        elif isinstance(frame, MessageFrame):
            await self._on_message(frame)
        elif isinstance(frame, StopFrame):
            await session_stop_request(self.session_id)
        elif isinstance(frame, PingFrame):
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "already_authenticated", "detail": "Already authenticated."})

    async def _on_auth(self, frame: Any) -> None:
        user = None
        if isinstance(frame, AuthFrame):
            user = await database_sync_to_async(user_from_access_token)(token=frame.token)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        await self._authenticated(user)

    async def _on_message(self, frame: MessageFrame) -> None:
        task = asyncio.create_task(self._run_turn(frame))
        self.generations.add(task)
        task.add_done_callback(self.generations.discard)

    async def _run_turn(self, frame: MessageFrame) -> None:
        try:
            async for _ in chat_turn(
                user=self.user, session_id=self.session_id, content=frame.content, client_id=frame.client_id
            ):
                pass  # every frame reaches this socket through the session group, like the other tabs
        except ApplicationError as exc:
            await self.send_json(error_frame(exc, frame.client_id))

    # --- Authentication ---------------------------------------------------------------------------

    async def _authenticated(self, user: User) -> None:
        if not await _connection_allowed(user):
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        try:
            await database_sync_to_async(session_get)(user=user, session_id=self.session_id)
        except NotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.user = user
        await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
        await self.send_json({"type": "ready", "session_id": self.session_id, "user": user.username})

    async def _close_unless_authenticated(self) -> None:
        await asyncio.sleep(settings.CHAT_AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    # --- Group events -----------------------------------------------------------------------------

    async def chat_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])  # already JSON: encoded once for every socket of the session

    async def chat_stop(self, event: dict[str, Any]) -> None:
        self._cancel_generations()

    def _cancel_generations(self) -> list[asyncio.Task]:
        running = [task for task in self.generations if not task.done()]
        for task in running:
            task.cancel()
        return running


async def _connection_allowed(user: User) -> bool:
    key = f"ws-connects:{user.pk}"
    await cache.aadd(key, 0, timeout=60)
    return await cache.aincr(key) <= settings.CHAT_CONNECTIONS_PER_MINUTE
