"""hub_referral: a new member's referrer, pushed with their record, and whether it is paid
(hub/members/referrals.py, hub/ledger/referrals.py)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0003_storage_key"),
        ("members", "0007_member_panel_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="Referral",
            fields=[
                ("member_id", models.TextField(primary_key=True, serialize=False)),
                ("referrer_id", models.TextField()),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "state",
                    models.TextField(
                        choices=[
                            ("pending", "pending"),
                            ("paid", "paid"),
                            ("capped", "capped"),
                            ("voided", "voided"),
                            ("refused", "refused"),
                        ],
                        default="pending",
                    ),
                ),
                ("refused", models.TextField(null=True)),
                (
                    "paid_by",
                    models.TextField(choices=[("device", "device"), ("hub", "hub")], null=True),
                ),
                ("purchase_id", models.TextField(null=True)),
                ("paid_at", models.DateTimeField(null=True)),
                ("referee_entry", models.TextField(null=True)),
                ("referrer_entry", models.TextField(null=True)),
                (
                    "paid_device",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="devices.device",
                    ),
                ),
                (
                    "pushed_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="devices.device",
                    ),
                ),
            ],
            options={
                "db_table": "hub_referral",
                "indexes": [
                    models.Index(
                        fields=["referrer_id", "paid_at"], name="hub_referral_by_referrer"
                    ),
                    models.Index(
                        condition=models.Q(("state", "pending")),
                        fields=["received_at"],
                        name="hub_referral_pending",
                    ),
                ],
            },
        ),
    ]
