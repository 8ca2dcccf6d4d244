"""The one place that sends to a chat session's channel-layer group.

By convention only the chat services call these functions, so every frame a client can receive is produced next
to the state change it reports (as Zulip's actions do); every frame type is covered by a socket test.
"""

import json

from realtime_chat.chat.frames import ServerFrame
from realtime_chat.core.channel_layer import channel_layer


def session_group(session_id: int) -> str:
    return f"chat.session.{session_id}"


async def session_broadcast(session_id: int, frame: ServerFrame) -> None:
    """Send a server frame to every socket open on the session (all tabs, all daphne processes).

    The frame travels as its JSON text, encoded once here: the channel layer copies (in memory) or serialises (Redis)
    a string more cheaply than the nested dict, and each socket sends it as it is instead of encoding it again.
    """
    await channel_layer().group_send(session_group(session_id), {"type": "chat.frame", "text": json.dumps(frame)})


async def session_stop_request(session_id: int) -> None:
    """Ask whichever consumer runs the session's generation to stop it (it may be another tab or process)."""
    await channel_layer().group_send(session_group(session_id), {"type": "chat.stop"})
