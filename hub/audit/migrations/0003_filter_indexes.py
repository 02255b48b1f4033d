"""The audit page's filters read an index: a member's trail (subject) and an actor by name.

Without them each filtered page scanned the whole log, which only grows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["subject", "at"], name="hub_audit_by_subject"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_name", "at"], name="hub_audit_by_actor_name"),
        ),
    ]
