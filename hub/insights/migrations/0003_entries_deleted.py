"""A deleted entry's days are worked out again too.

The ledger is kept (an erasure keeps the anonymous entries); a deletion is a repair by
hand or a benchmark's clean-up, and the figures must follow it all the same.
"""

from __future__ import annotations

from django.db import migrations

TRIGGER = r"""
CREATE FUNCTION hub_insight_note_gone_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT DISTINCT date_trunc('hour', created_at) FROM gone
    WHERE created_at IS NOT NULL AND status = 'stored';
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_entries_gone AFTER DELETE ON hub_entry
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION hub_insight_note_gone_entries();
"""

UNDO = r"""
DROP TRIGGER hub_insight_entries_gone ON hub_entry;
DROP FUNCTION hub_insight_note_gone_entries();
"""


class Migration(migrations.Migration):
    dependencies = [("insights", "0002_rollup_triggers")]

    operations = [migrations.RunSQL(TRIGGER, UNDO)]
