"""Top-level URLs. The API lives under /api/, the browser UI at the root."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from realtime_chat.accounts.admin_login import admin_login
from realtime_chat.analytics.metrics_view import metrics_view
from realtime_chat.core.api.errors import api_not_found

urlpatterns = [
    path("admin/login/", admin_login),  # the admin's own login page, throttled like the API's login
    path("admin/", admin.site.urls),
    path("metrics", metrics_view),  # Prometheus: a bearer token or loopback only (see the view)
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("realtime_chat.accounts.api.urls")),
    path("api/", include("realtime_chat.chat.api.urls")),
    path("api/", include("realtime_chat.personas.api.urls")),
    path("api/", include("realtime_chat.memory.api.urls")),
    path("api/", include("realtime_chat.core.api.urls")),
    path("api/", include("rag.api.urls")),
    path("api/", include("realtime_chat.analytics.api.urls")),
    path("api/", include("realtime_chat.attachments.api.urls")),
    re_path(r"^api/", api_not_found),  # any other /api/ path: a JSON 404, DEBUG or not
    path("", include("frontend.urls")),
]

handler404 = "realtime_chat.core.api.errors.not_found"
handler500 = "realtime_chat.core.api.errors.server_error"
