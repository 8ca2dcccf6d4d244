"""The embedded default's channel layer still delivers, and still expires messages and memberships."""

import asyncio

from realtime_chat.core.channel_layer import SWEEP_INTERVAL_SECONDS, SweptInMemoryChannelLayer


async def test_group_frames_reach_every_member() -> None:
    layer = SweptInMemoryChannelLayer()
    first, second = await layer.new_channel(), await layer.new_channel()
    for channel in (first, second):
        await layer.group_add("session-1", channel)
    await layer.group_send("session-1", {"type": "chat.frame", "text": "{}"})
    assert await layer.receive(first) == await layer.receive(second) == {"type": "chat.frame", "text": "{}"}


async def test_an_expired_message_is_dropped_and_its_channel_leaves_its_groups() -> None:
    layer = SweptInMemoryChannelLayer(expiry=0.01)
    gone, alive = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("session-1", gone)
    await layer.group_add("session-1", alive)
    await layer.send(gone, {"type": "chat.frame", "text": "never read"})
    await asyncio.sleep(SWEEP_INTERVAL_SECONDS + 0.1)
    await layer.group_send("session-1", {"type": "chat.frame", "text": "late"})
    assert list(layer.groups["session-1"]) == [alive]
    assert gone not in layer.channels
    assert await layer.receive(alive) == {"type": "chat.frame", "text": "late"}
