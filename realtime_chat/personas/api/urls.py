from django.urls import path

from realtime_chat.personas.api import views

urlpatterns = [
    path("personas/", views.PersonaListApi.as_view(), name="persona-list"),
    path("personas/<int:persona_id>/", views.PersonaDetailApi.as_view(), name="persona-detail"),
]
