"""Indexes for the owner's panel's figures (hub/insights/), made without locking pushes out.

- hub_member_by_joined: new members in a period (the dashboard), and the inactive members'
  pages, walked in the order members joined (a keyset page stops after its 50 rows).
- hub_member_birthday_day: members by the month and day of their birthday (month * 100 +
  day), for the upcoming birthdays: a week's candidates, not a million rows.

Raw SQL, outside Django's model state (an expression index the Member model need not
carry); CONCURRENTLY, so that a hub in service keeps taking pushes while it is built.
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("members", "0006_member_name_trigram")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS hub_member_by_joined"
            " ON hub_member (created_at, member_id)",
            "DROP INDEX CONCURRENTLY IF EXISTS hub_member_by_joined",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS hub_member_birthday_day ON hub_member"
            " ((extract(month FROM birthday)::int * 100 + extract(day FROM birthday)::int))"
            " WHERE birthday IS NOT NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS hub_member_birthday_day",
        ),
    ]
