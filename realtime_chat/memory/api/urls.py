from django.urls import path

from realtime_chat.memory.api import views

urlpatterns = [
    path("memories/", views.MemoryListApi.as_view(), name="memory-list"),
    path("memories/export/", views.MemoryExportApi.as_view(), name="memory-export"),
    path("memories/<int:memory_id>/", views.MemoryDetailApi.as_view(), name="memory-detail"),
]
