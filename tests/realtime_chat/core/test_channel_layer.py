"""The embedded default's channel layer still delivers, and still expires messages and memberships; the Redis layer
waits out bursts."""

import asyncio

import pytest
from channels.layers import channel_layers

from realtime_chat.core.channel_layer import (
    SWEEP_INTERVAL_SECONDS,
    SweptInMemoryChannelLayer,
    WaitingRedisChannelLayer,
    channel_layer,
)
from realtime_chat.core.redis_clients import MAX_CONNECTIONS


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


async def test_a_receive_on_the_configured_redis_layer_outlasts_five_idle_seconds(settings) -> None:
    """redis-py 8 gives up reading after 5 s by default: an idle socket's receive raised after 5 s and killed it."""
    if not settings.REDIS_URL:
        pytest.skip("the embedded default has no Redis layer (the second pass of make test sets REDIS_URL)")
    channel_layers.backends.pop("default", None)  # a layer of this test's own event loop
    layer = channel_layer()
    channel = await layer.new_channel()
    try:
        with pytest.raises(TimeoutError):  # asyncio's, after 7 s of waiting: not redis's
            await asyncio.wait_for(layer.receive(channel), timeout=7)
        await layer.send(channel, {"type": "still.listening"})
        assert (await asyncio.wait_for(layer.receive(channel), timeout=5))["type"] == "still.listening"
    finally:
        channel_layers.backends.pop("default", None)


async def test_a_burst_on_the_redis_layer_beyond_its_pool_waits_instead_of_failing(redis_url: str) -> None:
    """A thousand sockets connecting at once each join groups: redis-py 8's default pool failed every command past
    100 connections in use ("Too many connections", a 1011 for the socket)."""
    layer = WaitingRedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": 30}])
    channels = [f"burst.{n}" for n in range(MAX_CONNECTIONS * 4)]
    try:
        await asyncio.gather(*(layer.group_add("test-burst", channel) for channel in channels))
        await asyncio.gather(*(layer.group_send("test-burst", {"type": "x"}) for _ in range(MAX_CONNECTIONS * 4)))
    finally:
        await asyncio.gather(*(layer.group_discard("test-burst", channel) for channel in channels))
        await layer.flush()
