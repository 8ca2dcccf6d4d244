"""JWT authentication for WebSockets."""

from channels.middleware import BaseMiddleware


class JwtAuthMiddleware(BaseMiddleware):
    pass
