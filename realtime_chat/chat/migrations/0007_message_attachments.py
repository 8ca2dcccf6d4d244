from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0006_personas_memory"),
        ("attachments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="attachments",
            field=models.ManyToManyField(blank=True, related_name="messages", to="attachments.attachment"),
        ),
        migrations.AddField(
            model_name="message",
            name="image_input",
            field=models.CharField(blank=True, max_length=8),
        ),
    ]
