"""The one place that sends to a chat session's sockets and to whatever generates its answer, in this process and
in every other (`core.fanout`).

By convention only the chat services call these functions, so every frame a client can receive is produced next
to the state change it reports (as Zulip's actions do); every frame type is covered by a socket test.
"""

import json
from collections.abc import Awaitable

from realtime_chat.chat.frames import ServerFrame
from realtime_chat.core.fanout import group_send


def session_group(session_id: int) -> str:
    """Every socket open on the session (all tabs, all processes) listens here."""
    return f"chat.session.{session_id}"


def session_control_group(session_id: int) -> str:
    """Whatever generates the session's answer listens here (for `stop`), apart from the sockets' stream."""
    return f"chat.control.{session_id}"


async def session_broadcast(
    session_id: int,
    frame: ServerFrame,
    *,
    except_user: str | None = None,
    except_socket: str | None = None,
    only_user: str | None = None,
    after: Awaitable[object] | None = None,
) -> None:
    """Send a server frame to every socket open on the session (all tabs, all daphne processes); `after`: the
    answer-store write it reports, queued before it (see `core.fanout.group_send`).

    The frame travels as its JSON text, encoded once here: each socket sends it as it is instead of encoding it
    again, and Redis carries a string more cheaply than the nested dict.
    A `token` frame also carries its span of the answer text, so a socket resuming from a snapshot can drop or
    trim what it already has without decoding every frame.
    """
    event: dict[str, object] = {"type": "chat.frame", "text": json.dumps(frame)}
    if except_user is not None:
        event["except_user"] = except_user  # e.g. `typing`: everyone's sockets but that user's own
    if only_user is not None:
        event["only_user"] = only_user  # e.g. `memory.saved`: that user's sockets alone, never a room's others
    if except_socket is not None:
        event["except_socket"] = except_socket  # a socket told directly
    if frame["type"] == "token":
        event["span"] = (frame["message_id"], frame["offset"], frame["offset"] + len(frame["delta"]))
    await group_send(session_group(session_id), event, after=after)


async def session_stop_request(session_id: int) -> None:
    """Ask whatever generates the session's answer to stop it, in whichever process it runs."""
    await group_send(session_control_group(session_id), {"type": "chat.stop"})


async def session_member_removed(session_id: int, username: str) -> None:
    """Close the removed person's sockets on the session, in whichever process they are open."""
    await group_send(session_group(session_id), {"type": "chat.member_removed", "username": username})
