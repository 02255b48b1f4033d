from django.db import migrations, models
from django.db.models.deletion import CASCADE
from django.utils import timezone


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0002_enrollment_failure"),
    ]

    operations = [
        migrations.CreateModel(
            name="StorageKey",
            fields=[
                (
                    "device",
                    models.OneToOneField(
                        on_delete=CASCADE,
                        primary_key=True,
                        related_name="storage_key",
                        serialize=False,
                        to="devices.device",
                    ),
                ),
                ("key", models.BinaryField()),
                ("created_at", models.DateTimeField(default=timezone.now)),
            ],
            options={"db_table": "hub_storage_key"},
        ),
    ]
