"""Answers that belong to the session, not to the socket or request that asked for them.

A turn is driven by a task of the process (`answer_detach`): closing the tab, reloading or losing the network
cancels nothing; only `stop` (from any socket of the session, in any process: `stop_requests`) or the
generation timeout ends an answer early. While it streams, its text so far is kept where every process can read
it (`chat.answer_store`: Redis in production, this process's memory in the embedded default), appended once per flush
window, so a socket that opens mid-answer gets a snapshot and continues from its offset. The generating process
beats (`heartbeat`); if it dies, the next message or the sweeper takes the lock over (services.chat).
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from channels.db import database_sync_to_async
from django.conf import settings

from realtime_chat.accounts.models import User
from realtime_chat.chat.answer_store import answer_store
from realtime_chat.chat.broadcast import session_control_group, session_stop_request
from realtime_chat.chat.frames import ServerFrame
from realtime_chat.chat.selectors import session_access
from realtime_chat.chat.services.chat import generation_heartbeat
from realtime_chat.core.errors import Forbidden
from realtime_chat.core.fanout import Event, group_join, group_leave

_detached: set[asyncio.Task[None]] = set()  # strong references: the event loop keeps only weak ones


def answer_detach(turn: AsyncIterator[ServerFrame], follower: asyncio.Queue[ServerFrame | None] | None = None) -> None:
    """Drive the rest of `turn` in a task of the process. Its frames reach the session's sockets through the
    channel layer; `follower`, if given, also gets each of them, then None."""
    task = asyncio.create_task(_drive(turn, follower))
    _detached.add(task)
    task.add_done_callback(_detached.discard)


async def _drive(turn: AsyncIterator[ServerFrame], follower: asyncio.Queue[ServerFrame | None] | None) -> None:
    try:
        async for frame in turn:
            if follower is not None:
                follower.put_nowait(frame)
    finally:
        if follower is not None:
            follower.put_nowait(None)


async def answer_follow(turn: AsyncIterator[ServerFrame]) -> AsyncIterator[ServerFrame]:
    """The rest of `turn`'s frames, for a request that streams them (SSE). The answer is detached first: if the
    request goes away, the answer still completes and is saved."""
    follower: asyncio.Queue[ServerFrame | None] = asyncio.Queue()
    answer_detach(turn, follower)
    while (frame := await follower.get()) is not None:
        yield frame


async def answer_stop(*, user: User, session_id: int) -> None:
    """Stop the session's answer wherever it runs. A viewer watches but does not steer: Forbidden (checked now, so
    a member made a viewer since their socket opened is refused too); NotFound if `user` is nothing in it."""
    access = await database_sync_to_async(session_access)(user=user, session_id=session_id)
    if not access.can_write:
        raise Forbidden("You can watch this chat, but not stop its answers.")
    await session_stop_request(session_id)


class StopRequests:
    """A session's `stop`, from any socket in any process, heard from before its question is announced until its
    answer ends. A stop that lands while the prompt is still being built is kept, and cancels the answer as soon
    as it runs (`cancelling_current_task`). It travels like every other event of the session (`core.fanout`)."""

    def __init__(self, session_id: int) -> None:
        self.group = session_control_group(session_id)
        self.requested = False
        self.target: asyncio.Task[object] | None = None
        self.cancelled = False  # the target was cancelled by a stop

    async def group_event(self, event: Event) -> None:
        if event.get("type") == "chat.stop":
            self.requested = True
            self._cancel_target()

    def _cancel_target(self) -> None:
        if self.target is not None and not self.cancelled:
            self.cancelled = self.target.cancel()

    @contextmanager
    def cancelling_current_task(self) -> Iterator[None]:
        """Within the block, a stop (or one that came before it) cancels the task running the block."""
        self.target = asyncio.current_task()
        if self.requested:
            self._cancel_target()
        try:
            yield
        finally:
            self.target = None

    def stopped(self) -> bool:
        """Whether the cancellation being handled is a stop's alone: then it is withdrawn (`uncancel`), and the
        answer ends like any other, for every caller (a socket, an SSE stream, a REST request). Call it once."""
        task = asyncio.current_task()
        return self.cancelled and task is not None and task.uncancel() == 0


@asynccontextmanager
async def stop_requests(session_id: int) -> AsyncIterator[StopRequests]:
    stops = StopRequests(session_id)
    await group_join(stops.group, stops)
    try:
        yield stops
    finally:
        await asyncio.shield(group_leave(stops.group, stops))


@asynccontextmanager
async def heartbeat(*, session_id: int, message_id: int, text_so_far: Callable[[], str]) -> AsyncIterator[None]:
    """Beat while the block runs: the session's lock stays ours and the answer's partial text is saved."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(settings.CHAT_GENERATION_HEARTBEAT_SECONDS)
            await database_sync_to_async(generation_heartbeat)(
                session_id=session_id, message_id=message_id, partial_text=text_so_far()
            )
            await answer_store().keep_alive(session_id)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
