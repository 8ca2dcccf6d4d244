import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def asked_by_backfill(apps, schema_editor):
    """Existing answers count for whoever asked the question before them (the session's owner if nobody did)."""
    Message = apps.get_model("chat", "Message")
    ChatSession = apps.get_model("chat", "ChatSession")
    asker = (
        Message.objects.filter(session_id=OuterRef("session_id"), role="user", id__lt=OuterRef("id"))
        .order_by("-id")
        .values("author_id")[:1]
    )
    owner = ChatSession.objects.filter(pk=OuterRef("session_id")).values("owner_id")[:1]
    answers = Message.objects.filter(role="assistant", asked_by__isnull=True)
    answers.update(asked_by_id=Subquery(asker))
    answers.filter(asked_by__isnull=True).update(asked_by_id=Subquery(owner))


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0007_message_attachments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="asked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["asked_by", "created_at"], name="message_asked_by_time"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["role", "created_at"], name="message_role_time"),
        ),
        migrations.RunPython(asked_by_backfill, migrations.RunPython.noop),
    ]
