"""Which WebSocket handshakes reach the consumers, judged by their Origin header."""

from typing import TYPE_CHECKING
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings

if TYPE_CHECKING:
    from channels.utils import _ChannelApplication

LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


class SiteOrigins(OriginValidator):
    """A browser sends Origin with every WebSocket handshake, so an Origin of another site is another site's page
    using a visitor's browser: refused (HTTP 403). No Origin at all means no browser (a script, a mobile app), and
    nothing ambient rides along: the socket authenticates with a JWT the client sends itself, never a cookie, so
    such a handshake is accepted. (`Origin: null`, a sandboxed page, is a browser's and is refused.)"""

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)


def site_origins_only(application: "_ChannelApplication") -> SiteOrigins:
    """`application` behind the Origin check, for the hosts in ALLOWED_HOSTS (as Channels' validator does)."""
    allowed = settings.ALLOWED_HOSTS or (LOCAL_HOSTS if settings.DEBUG else [])
    return SiteOrigins(application, allowed)
