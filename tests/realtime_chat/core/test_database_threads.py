"""Trips run with `database_parallel_async` progress side by side, each thread on its own connection to the real
database; with `CHAT_PARALLEL_DATABASE_TRIPS` off they queue on Channels' one database thread, as before."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async

from realtime_chat.accounts.models import User
from realtime_chat.core.database_threads import database_parallel_async
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _meet(barrier: threading.Barrier) -> str:
    """Returns only once every caller is inside at the same time (or raises BrokenBarrierError after 2 s)."""
    barrier.wait(timeout=2)
    return threading.current_thread().name


async def test_trips_run_at_the_same_time_on_threads_other_than_channels_one(settings) -> None:
    settings.CHAT_PARALLEL_DATABASE_TRIPS = True
    barrier = threading.Barrier(3)
    names = await asyncio.gather(*(database_parallel_async(_meet)(barrier) for _ in range(3)))
    channels_thread = await database_sync_to_async(lambda: threading.current_thread().name)()
    assert len(set(names)) == 3
    assert channels_thread not in names


async def test_switched_off_trips_queue_on_channels_one_thread(settings) -> None:
    settings.CHAT_PARALLEL_DATABASE_TRIPS = False
    barrier = threading.Barrier(2)
    with pytest.raises(threading.BrokenBarrierError):  # the second trip never starts while the first waits
        await asyncio.gather(*(database_parallel_async(_meet)(barrier) for _ in range(2)))


def _write_then_count(username: str) -> int:
    UserFactory(username=username)
    return User.objects.filter(username__startswith="pooled-").count()


async def test_each_thread_writes_and_reads_the_real_database(settings) -> None:
    settings.CHAT_PARALLEL_DATABASE_TRIPS = True
    await asyncio.gather(*(database_parallel_async(_write_then_count)(f"pooled-{n}") for n in range(8)))
    assert await database_sync_to_async(lambda: User.objects.filter(username__startswith="pooled-").count())() == 8
