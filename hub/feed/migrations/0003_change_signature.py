from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feed", "0002_change_member_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="change",
            name="signature",
            field=models.TextField(null=True),
        ),
    ]
