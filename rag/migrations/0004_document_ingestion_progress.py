from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

STATUSES = [
    ("pending", "Pending"),
    ("processing", "Processing"),
    ("ready", "Ready"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
STAGES = [
    ("queued", "Queued"),
    ("extracting", "Extracting"),
    ("chunking", "Chunking"),
    ("embedding", "Embedding"),
    ("indexing", "Indexing"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
# The stages before this migration were blank once a document ended, and named by their verbs while it ran.
OLD_STAGES = {"extract": "extracting", "chunk": "chunking", "embed": "embedding", "index": "indexing"}
ENDED = {"pending": "queued", "ready": "done", "failed": "failed"}


def stages_rename(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Document = apps.get_model("rag", "Document")
    for old, new in OLD_STAGES.items():
        Document.objects.filter(stage=old).update(stage=new)
    for status, stage in ENDED.items():
        Document.objects.filter(status=status).exclude(stage__in=OLD_STAGES.values()).update(stage=stage)


class Migration(migrations.Migration):
    dependencies = [("rag", "0003_index_state_change")]

    operations = [
        migrations.AlterField(
            model_name="document",
            name="status",
            field=models.CharField(choices=STATUSES, default="pending", max_length=16),
        ),
        migrations.AlterField(
            model_name="document",
            name="stage",
            field=models.CharField(choices=STAGES, default="queued", max_length=32),
        ),
        migrations.AddField(
            model_name="document",
            name="eta_seconds",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="document",
            name="runs",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(stages_rename, migrations.RunPython.noop),
    ]
