"""The embedded default's channel layer: Channels' in-memory layer with its expiry sweep throttled."""

import time

from channels.layers import InMemoryChannelLayer

SWEEP_INTERVAL_SECONDS = 1.0


class SweptInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer walks every channel and group for expired messages and memberships on every
    `group_send` and `receive`, so each token frame cost time in proportion to all open sockets, idle ones
    included. Sweeping at most once a second keeps expiry (to within a second) and makes a frame's cost
    independent of how many sockets are open. Production uses Redis, which expires by itself."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL_SECONDS
        super()._clean_expired()
