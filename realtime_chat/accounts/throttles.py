"""Rate limits of the public account endpoints and the admin login: per client address and per account named.

A client's address is the address of the connection, unless that is one of `TRUSTED_PROXIES`: only then is
`X-Forwarded-For` read, from the right, up to the first address that is not a trusted proxy. What a client writes
into the header itself sits left of that and is never read, so rotating the header opens no new bucket.
"""

import hashlib
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import ScopedRateThrottle

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views itself loads (DEFAULT_THROTTLE_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView

# One subscriber is usually handed a whole IPv6 /64: its addresses count as one client.
IPV6_CLIENT_PREFIX = 64


def client_address(request: "HttpRequest | Request") -> str:
    """The address a limit counts for this request (an IPv6 client's /64)."""
    address = request.META.get("REMOTE_ADDR", "")
    if _is_trusted_proxy(_parsed(address)):
        for hop in reversed(request.headers.get("x-forwarded-for", "").split(",")):
            parsed = _parsed(hop.strip())
            if parsed is None:
                break  # unreadable: the farthest address vouched for is the proxy that passed it on
            address = str(parsed)
            if not _is_trusted_proxy(parsed):
                break
    return _client_bucket(address)


def _is_trusted_proxy(address: IPv4Address | IPv6Address | None) -> bool:
    return address is not None and any(address in network for network in settings.TRUSTED_PROXIES)


def _parsed(address: str) -> IPv4Address | IPv6Address | None:
    try:
        parsed = ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def _client_bucket(address: str) -> str:
    parsed = _parsed(address)
    if isinstance(parsed, IPv6Address):
        return str(ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return address if parsed is None else str(parsed)


class ClientRateThrottle(ScopedRateThrottle):
    """The view's `throttle_scope` rate per client address (per user once authenticated), as configured."""

    def get_ident(self, request: "Request") -> str:
        return client_address(request)


class AccountRateThrottle(ScopedRateThrottle):
    """The same rate per account the request names (the view's `throttle_account_field`, e.g. the username),
    from any number of addresses: many clients trying one password, or mailing one address, share one limit."""

    cache_format = "throttle_%(scope)s_account_%(ident)s"

    def get_cache_key(self, request: "Request", view: "APIView") -> str | None:
        field = getattr(view, "throttle_account_field", None)
        value = request.data.get(field) if field and isinstance(request.data, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            return None  # the view's validation answers that; the client limit still counts it
        # Hashed: the key stays short and safe whatever was typed, and the cache never holds the name itself.
        digest = hashlib.sha256(value.strip().casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
