"""The branches of the members a hub held before branches had members of their own.

A member is one of a branch when a device of the branch pushed their record or an entry
of theirs: read from `hub_member.pushed_by` and `hub_entry`, so that after the upgrade a
kiosk's feed still carries the members its branch served.
"""

from django.db import migrations

BACKFILL = """
INSERT INTO hub_branch_member (branch_id, member_id, since)
SELECT DISTINCT d.branch_id, used.member_id, now() FROM (
    SELECT pushed_by_id AS device_id, member_id FROM hub_member WHERE pushed_by_id IS NOT NULL
    UNION
    SELECT device_id, member_id FROM hub_entry WHERE member_id IS NOT NULL
) AS used
JOIN hub_device d ON d.id = used.device_id
ON CONFLICT (branch_id, member_id) DO NOTHING
"""


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0004_branch_member_one_index"),
        ("ledger", "0001_initial"),
    ]

    operations = [migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop)]
