"""Indexes for two reports that read few rows of big tables.

- Rewards redeemed over a period: the redemptions alone, with what the report sums (an
  index-only scan of a month's redemptions instead of every entry of the month).
- Upcoming birthdays: the members born on given dates (hub/insights/people.py works out
  which dates' birthdays fall in the window, in each calendar).
"""

from __future__ import annotations

from django.db import migrations

INDEXES = r"""
CREATE INDEX IF NOT EXISTS hub_entry_redeems ON hub_entry (created_at)
    INCLUDE (device_id, entry_id, member_id, reward_id, points)
    WHERE status = 'stored' AND kind = 'redeem';
CREATE INDEX IF NOT EXISTS hub_member_by_birthday ON hub_member (birthday)
    WHERE birthday IS NOT NULL;
"""

UNDO = r"""
DROP INDEX hub_entry_redeems;
DROP INDEX hub_member_by_birthday;
"""


class Migration(migrations.Migration):
    dependencies = [("insights", "0003_entries_deleted")]

    operations = [migrations.RunSQL(INDEXES, UNDO)]
