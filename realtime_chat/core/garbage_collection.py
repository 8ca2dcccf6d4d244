"""The cyclic garbage collector of a server process, tuned for a process that holds many sockets for long.

With 1,000 sockets open and 100 answers streaming, CPython's full (generation 2) collections scanned every object
the process held (Django's own, imported at start, and each socket's) several times a second, pausing the event
loop for 100-270 ms each time: every stream stopped at once (the worst gap between two frames, median over the
streams, 228-297 ms, against 31-174 ms for a minimal Channels server, `../shared/bench/stream_load.py 1000 100 50
200`). What is there once the application is loaded lives as long as the process, so it is frozen out of every
collection (`gc.freeze`), and a full collection waits for more younger ones (`SERVER_GC_THRESHOLDS`): 57-70 ms.
Cycles are still found; those that outlive two younger collections are found later.
"""

import gc

from django.conf import settings


def server_collector_tune() -> None:
    """Call once the application is loaded, before serving."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*settings.SERVER_GC_THRESHOLDS)
