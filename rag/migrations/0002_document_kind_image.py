from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rag", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="document",
            name="kind",
            field=models.CharField(
                choices=[
                    ("txt", "Txt"),
                    ("md", "Md"),
                    ("html", "Html"),
                    ("pdf", "Pdf"),
                    ("docx", "Docx"),
                    ("image", "Image"),
                ],
                max_length=8,
            ),
        ),
    ]
