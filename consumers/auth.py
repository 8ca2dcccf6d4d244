"""JWT authentication for WebSockets.

The preferred way is the first frame, `{"type": "auth", "token": ...}`, handled by the consumer, because a token
in a URL ends up in access logs and browser history. For clients that cannot send a first frame, `?token=` is
accepted here (the chat issue asks for it); it is never logged.
"""

from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from realtime_chat.accounts.services import access_token_check

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope
    from channels.utils import _ChannelApplication


class JwtAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` and `scope["access_grant"]` (its expiry) from `?token=`; no state on the instance (it
    serves every connection)."""

    async def __call__(
        self, scope: "_ChannelScope", receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> "_ChannelApplication":
        token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        grant = await database_sync_to_async(access_token_check)(token=token) if token else None
        user = grant.user if grant else AnonymousUser()
        # A key of our own and a loaded user (not Channels' lazy one): more than the scope's TypedDict can list.
        scope = cast("_ChannelScope", {**scope, "user": user, "access_grant": grant})
        return await super().__call__(scope, receive, send)
