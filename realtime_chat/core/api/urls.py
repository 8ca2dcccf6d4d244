from django.urls import path

from realtime_chat.core.api import health

urlpatterns = [
    path("health/live/", health.LiveApi.as_view(), name="health-live"),
    path("health/", health.HealthApi.as_view(), name="health"),
]
