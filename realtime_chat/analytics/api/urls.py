from django.urls import path

from realtime_chat.analytics.api import views

urlpatterns = [
    path("usage/", views.UsageApi.as_view(), name="usage"),
    path("admin/usage/", views.AdminUsageApi.as_view(), name="admin-usage"),
]
