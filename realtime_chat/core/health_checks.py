"""The foundation's health checks: database, cache, channel layer, task queue and task worker."""

import uuid
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer
from django.core.cache import cache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.status import Stat

from realtime_chat.core.channel_layer import channel_layer
from realtime_chat.core.health import register

SCHEDULE_OVERDUE_AFTER = timedelta(minutes=2)  # the scheduler's ~30 s cycle, with room for a slow one


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
    return async_to_sync(_layer_roundtrip)(channel_layer())


async def _layer_roundtrip(layer: BaseChannelLayer) -> str:
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("message sent was not received")
    return f"{type(layer).__name__} send/receive ok"


@register("task_queue")
def task_queue() -> str:
    """Required: without a reachable broker nothing can be queued (emails, document processing)."""
    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("broker did not answer")
    depth = f"{broker.queue_size()} queued"
    locked = broker.lock_size()  # only brokers that lock delivered tasks (the ORM) can tell
    if locked is not None:
        depth += f", {locked} running or awaiting a retry"
    return f"{type(broker).__name__} reachable, {depth}"


@register("task_worker", required=False)
def task_worker() -> str:
    """Optional: with no worker, tasks wait in the queue (degraded) but the site still works."""
    if Conf.SYNC:
        return "tasks run inline (sync mode): no worker needed"
    broker = get_broker()
    clusters = [stat for stat in Stat.get_all(broker=broker) if stat.status != Conf.STOPPED]
    if clusters:
        workers = sum(len(stat.workers) for stat in clusters)
        age = max((timezone.now() - max(stat.timestamp for stat in clusters)).total_seconds(), 0)
        return f"{len(clusters)} cluster(s) with {workers} workers, heartbeat {age:.0f}s ago"
    return _worker_judged_by_schedules(heartbeat_visible=_heartbeat_visible(broker))


def _heartbeat_visible(broker: Broker) -> bool:
    """A cluster publishes its heartbeat in Redis (Redis broker) or else in Django's cache; a process-local cache
    (the embedded default's) keeps it inside the worker process, out of this one's sight."""
    if type(broker).set_stat is not Broker.set_stat:
        return True
    return broker.cache is not None and not isinstance(broker.cache, LocMemCache | DummyCache)


def _worker_judged_by_schedules(*, heartbeat_visible: bool) -> str:
    """The scheduler runs inside the cluster about every 30 s: a schedule left overdue means no cluster runs."""
    now = timezone.now()
    due = Schedule.objects.exclude(repeats=0).filter(Q(cluster__isnull=True) | Q(cluster=Conf.CLUSTER_NAME))
    overdue = due.filter(next_run__lt=now - SCHEDULE_OVERDUE_AFTER).order_by("next_run").first()
    if overdue is not None:
        minutes = (now - overdue.next_run).total_seconds() / 60
        raise RuntimeError(f"no worker seen: schedule {overdue.name or overdue.pk!r} is {minutes:.0f} min overdue")
    if heartbeat_visible:
        raise RuntimeError("no worker seen: no cluster heartbeat in the broker")
    if not due.exists():
        raise RuntimeError("no worker heartbeat visible here and no schedules to judge by (run setup_schedules)")
    return "no schedule overdue (the cluster heartbeat is kept in the worker's local-memory cache)"
