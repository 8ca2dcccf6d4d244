import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_refresh_token_family"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageLimits",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="usage_limits",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "daily_token_budget",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Prompt + completion tokens a day (UTC). Empty: CHAT_DAILY_TOKEN_BUDGET.",
                        null=True,
                    ),
                ),
                (
                    "max_documents",
                    models.PositiveIntegerField(
                        blank=True, help_text="Documents at once. Empty: RAG_MAX_DOCUMENTS_PER_USER.", null=True
                    ),
                ),
                (
                    "max_bytes",
                    models.PositiveBigIntegerField(
                        blank=True, help_text="Bytes of documents at once. Empty: RAG_MAX_BYTES_PER_USER.", null=True
                    ),
                ),
            ],
            options={
                "verbose_name": "usage limits",
                "verbose_name_plural": "usage limits",
            },
        ),
    ]
