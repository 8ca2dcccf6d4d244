import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Attachment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("png", "Png"), ("jpeg", "Jpeg"), ("webp", "Webp"), ("gif", "Gif")], max_length=8
                    ),
                ),
                ("content_type", models.CharField(max_length=32)),
                ("width", models.PositiveIntegerField()),
                ("height", models.PositiveIntegerField()),
                ("bytes", models.PositiveIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("file", models.FileField(max_length=200, upload_to="attachments/")),
                ("thumbnail", models.FileField(max_length=200, upload_to="attachments/thumbnails/")),
                ("thumbnail_bytes", models.PositiveIntegerField(default=0)),
                ("ocr_text", models.TextField(blank=True, editable=False, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attachments",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["owner", "-created_at"], name="attachment_owner_recent")],
            },
        ),
    ]
