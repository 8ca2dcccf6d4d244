from django.urls import path

from realtime_chat.attachments.api import views

urlpatterns = [
    path("attachments/", views.AttachmentListApi.as_view(), name="attachment-list"),
    path("attachments/<int:attachment_id>/", views.AttachmentDetailApi.as_view(), name="attachment-detail"),
    path("attachments/<int:attachment_id>/content/", views.AttachmentContentApi.as_view(), name="attachment-content"),
    path(
        "attachments/<int:attachment_id>/thumbnail/",
        views.AttachmentThumbnailApi.as_view(),
        name="attachment-thumbnail",
    ),
]
