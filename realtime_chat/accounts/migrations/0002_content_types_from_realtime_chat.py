from django.db import migrations

from realtime_chat.core.moved_models import content_types_move


class Migration(migrations.Migration):
    """The user model came from the `realtime_chat` app: its permissions and admin history come along."""

    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(content_types_move("realtime_chat", "accounts", ["user"]), migrations.RunPython.noop),
    ]
