"""The channel layer: the configured one for callers, and the embedded default's in-memory layer."""

import time
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured

SWEEP_INTERVAL_SECONDS = 1.0


def channel_layer() -> BaseChannelLayer:
    """The default layer; settings always configure one (Redis, or the in-memory layer below)."""
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured("CHANNEL_LAYERS has no default layer")
    return layer


class SweptInMemoryChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer walks every channel and group for expired messages and memberships on every
    `group_send` and `receive`, so each token frame cost time in proportion to all open sockets, idle ones
    included. Sweeping at most once a second keeps expiry (to within a second) and makes a frame's cost
    independent of how many sockets are open. Production uses Redis, which expires by itself."""

    def __init__(self, **kwargs: Any) -> None:  # CHANNEL_LAYERS' CONFIG, as Channels passes it
        super().__init__(**kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL_SECONDS
        super()._clean_expired()  # type: ignore[misc]  # private in Channels, so types-channels omits it
