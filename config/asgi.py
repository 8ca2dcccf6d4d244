"""ASGI wiring: HTTP goes to Django, WebSocket through the Origin check and JWT auth to the consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models, so this comes first.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from consumers.auth import JwtAuthMiddleware  # noqa: E402
from consumers.routing import websocket_urlpatterns  # noqa: E402
from realtime_chat.core.body_limits import BodyLimitMiddleware, bound_daphne_requests  # noqa: E402
from realtime_chat.core.garbage_collection import server_collector_tune  # noqa: E402
from realtime_chat.core.metrics import SocketMetricsMiddleware  # noqa: E402
from realtime_chat.core.websocket_origin import site_origins_only  # noqa: E402

# Request bodies are capped before they are read: in daphne's own request object (daphne reads a body whole before
# the application sees it) and, for any server, in front of Django.
bound_daphne_requests()

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        # Pages of other sites are refused; clients that are no browser (no Origin at all) are welcome.
        "websocket": SocketMetricsMiddleware(site_origins_only(JwtAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)

# Last: what is loaded by now lives as long as the server, and no collection needs to scan it again.
server_collector_tune()
