"""The foundation's health checks: database, cache, channel layer, task queue."""

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django_q.brokers import get_broker

from realtime_chat.health import register


@register("database")
def database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return f"{connection.vendor} reachable"


@register("cache")
def cache_roundtrip() -> str:
    key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("value written was not read back")
    cache.delete(key)
    return f"{type(cache).__name__} read/write ok"


@register("channel_layer")
def channel_layer_roundtrip() -> str:
    layer = get_channel_layer()
    return async_to_sync(_layer_roundtrip)(layer)


async def _layer_roundtrip(layer) -> str:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("message sent was not received")
    return f"{type(layer).__name__} send/receive ok"


@register("task_queue")
def task_queue() -> str:
    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("broker did not answer")
    return f"{type(broker).__name__} reachable, {broker.queue_size()} queued"
