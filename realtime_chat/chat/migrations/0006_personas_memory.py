import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0005_generating_for"),
        ("personas", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="chatsession",
            name="persona",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="personas.persona",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="persona",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="personas.persona",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="persona_name",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="message",
            name="memories_used",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="userpreferences",
            name="memory_enabled",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="userpreferences",
            name="memory_auto",
            field=models.BooleanField(default=False),
        ),
    ]
