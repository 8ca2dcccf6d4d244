"""Database trips that may run side by side, on the event loop's thread pool, each thread with its own connection.

Channels' `database_sync_to_async` runs every trip of the process on one thread, one after another. That is right
for most of them, but a burst of questions (100 people asking at once) then queues each turn's opening behind all
the others while the event loop streaming the answers already started holds the interpreter most of the time:
measured with 100 answers at once, each opening took ~28 ms on that thread against ~6 ms alone, and the last
question waited 3 s before its first query. A trip that keeps to its own transaction (a turn's opening or its end:
every write is guarded by the database itself, the session's lock being a conditional UPDATE and the cap a row
lock) can instead run on the loop's default thread pool (`min(32, CPUs + 4)` threads), so several progress at once.

The loop's pool, not a pool of our own: a dedicated pool of the same size was measured slower under that burst
(first token p99 3.4-3.7 s against 1.7-2.0 s, `stream_load 1000 100 50 200`, alternating). The likely reason is
that the answers' connections to the model server resolve their address on the same pool, so while questions are
being opened, answers start a little later instead of taking the interpreter from the openings.
Each thread keeps its connection between trips (`CONN_MAX_AGE`), closed when stale as Channels closes its own.
"""

from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings

P = ParamSpec("P")
R = TypeVar("R")


def database_parallel_async(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`func` as a coroutine function run on the loop's thread pool; with `CHAT_PARALLEL_DATABASE_TRIPS` off, on
    Channels' one database thread, as every other trip."""
    if not settings.CHAT_PARALLEL_DATABASE_TRIPS:
        return DatabaseSyncToAsync(func)
    return DatabaseSyncToAsync(func, thread_sensitive=False)
