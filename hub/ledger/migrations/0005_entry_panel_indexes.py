"""Indexes for the owner's panel's figures (hub/insights/), made without locking pushes out.

- hub_entry_by_time: the dashboard and the reports read a period's stored entries (the
  last 30 days: a few hundred thousand of ten million). Covering the columns they sum, so
  that PostgreSQL answers from the index alone (bench/README.md, `panel`).
- hub_entry_visits: a member's last visit (purchase or redemption), for the inactive
  members: the newest of the member's entries from the index.
- hub_entry_reversals: whether an entry was voided (a reversal naming it, from its
  device), for the rewards redeemed; reversals are few, so the index is small.

Raw SQL, outside Django's model state: a partial, covering index is not worth a change of
the Entry model that others edit; CONCURRENTLY, so that a hub in service keeps taking
pushes while it is built (a migration of its own, not atomic).
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("ledger", "0004_hub_entries")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS hub_entry_by_time ON hub_entry (created_at)"
            " INCLUDE (device_id, kind, points, amount, member_id) WHERE status = 'stored'",
            "DROP INDEX CONCURRENTLY IF EXISTS hub_entry_by_time",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS hub_entry_visits"
            " ON hub_entry (member_id, created_at) INCLUDE (device_id)"
            " WHERE status = 'stored' AND kind IN ('earn', 'redeem')",
            "DROP INDEX CONCURRENTLY IF EXISTS hub_entry_visits",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS hub_entry_reversals"
            " ON hub_entry (device_id, reverses) WHERE reverses IS NOT NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS hub_entry_reversals",
        ),
    ]
