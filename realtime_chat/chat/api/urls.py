from django.urls import path

from realtime_chat.chat.api import views

urlpatterns = [
    path("sessions/", views.SessionListApi.as_view(), name="session-list"),
    path("sessions/<int:session_id>/", views.SessionDetailApi.as_view(), name="session-detail"),
    path("sessions/<int:session_id>/messages/", views.MessageListApi.as_view(), name="session-messages"),
    path("sessions/<int:session_id>/export/", views.SessionExportApi.as_view(), name="session-export"),
    path("sessions/<int:session_id>/members/", views.SessionMemberListApi.as_view(), name="session-members"),
    path(
        "sessions/<int:session_id>/members/<str:username>/",
        views.SessionMemberDetailApi.as_view(),
        name="session-member-detail",
    ),
    path("search/", views.HistorySearchApi.as_view(), name="history-search"),
    path("preferences/", views.PreferencesApi.as_view(), name="preferences"),
    path("models/", views.ModelListApi.as_view(), name="models"),
]
