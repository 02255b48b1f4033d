from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feed", "0003_change_signature"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                condition=models.Q(("type", "member")),
                fields=["member_id"],
                name="hub_change_member",
            ),
        ),
    ]
