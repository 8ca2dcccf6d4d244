from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rag", "0002_document_kind_image")]

    operations = [
        migrations.CreateModel(
            name="IndexChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("embedding_model", models.CharField(max_length=200)),
                ("version", models.PositiveBigIntegerField()),
                ("document_id", models.BigIntegerField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "indexes": [models.Index(fields=["embedding_model", "version"], name="index_change_model_version")],
            },
        ),
        migrations.CreateModel(
            name="IndexState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("embedding_model", models.CharField(max_length=200, unique=True)),
                ("version", models.PositiveBigIntegerField(default=0)),
                ("generation", models.PositiveIntegerField(default=0)),
            ],
        ),
    ]
