from django.db import migrations

from realtime_chat.core.moved_models import content_types_move

MOVED = ["chatsession", "message", "userpreferences"]


class Migration(migrations.Migration):
    """The chat models came from the `realtime_chat` app: their permissions and admin history come along."""

    dependencies = [
        ("chat", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(content_types_move("realtime_chat", "chat", MOVED), migrations.RunPython.noop),
    ]
