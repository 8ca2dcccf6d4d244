"""A session as a file: Markdown for people, JSON for programs."""

import json

from realtime_chat.chat.models import ChatSession
from realtime_chat.chat.selectors import message_list
from realtime_chat.chat.serializers import ChatSessionSerializer, MessageSerializer


def session_export_json(*, session: ChatSession) -> str:
    data = {
        "session": ChatSessionSerializer(session).data,
        "messages": MessageSerializer(message_list(session=session), many=True).data,
    }
    return json.dumps(data, indent=2, default=str)


def session_export_markdown(*, session: ChatSession) -> str:
    lines = [f"# {session.title or f'Chat {session.pk}'}", ""]
    for message in message_list(session=session):
        who = "You" if message.role == "user" else f"Assistant ({message.model or message.provider or 'unknown'})"
        lines += [f"**{who}** · {message.created_at:%Y-%m-%d %H:%M}", "", message.content or "_(no text)_", ""]
        for image in message.attachments.all():
            lines.append(f"- image {image.pk} ({image.width}x{image.height}): /api/attachments/{image.pk}/content/")
        if message.attachments.all():
            lines.append("")
        for source in message.sources:
            page = f", page {source['page']}" if source.get("page") else ""
            lines.append(f"- [{source['number']}] {source['title']}{page}")
        if message.sources:
            lines.append("")
    return "\n".join(lines)
