from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_content_types_from_realtime_chat"),
    ]

    operations = [
        migrations.AddField(
            model_name="chatsession",
            name="generation_heartbeat_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
