from django.urls import path

from rag.api import views

urlpatterns = [
    path("documents/", views.DocumentListApi.as_view(), name="document-list"),
    path("documents/<int:pk>/", views.DocumentDetailApi.as_view(), name="document-detail"),
    path("documents/<int:pk>/reindex/", views.DocumentReindexApi.as_view(), name="document-reindex"),
    path("documents/<int:pk>/cancel/", views.DocumentCancelApi.as_view(), name="document-cancel"),
    path("documents/<int:pk>/retry/", views.DocumentRetryApi.as_view(), name="document-retry"),
    path("rag/search/", views.SearchApi.as_view(), name="rag-search"),
]
