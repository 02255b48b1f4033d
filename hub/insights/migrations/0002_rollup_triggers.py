"""The triggers that keep the rollups equal to the tables they sum (hub/insights/models.py).

In the writer's own transaction, so a note is committed exactly when what it notes is:
- an entry, a member or a member's new branch notes the hour (UTC) it happened in, so that
  hour's chain days are worked out again (a member's merge and a device's move note every
  hour of their entries);
- a change of a member's balance above 0, a member's merge and a member's new branch write
  the change to the points held, for the chain (-1) and for each branch of the member.

Statement-level triggers with transition tables where one statement writes many rows (a
push stores a batch of entries in one INSERT): one note per hour, not per row.

Then the rollups of what is already there: every hour with an entry or a member is noted
(the days are worked out by the first refresh, `hub insights refresh`, or the first page
that needs them), and the points held now are the first snapshot.
"""

from __future__ import annotations

from django.db import migrations

TRIGGERS = r"""
CREATE INDEX IF NOT EXISTS hub_branch_member_by_member ON hub_branch_member (member_id);

CREATE FUNCTION hub_insight_note_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT DISTINCT date_trunc('hour', created_at) FROM added
    WHERE created_at IS NOT NULL AND status = 'stored';
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_entries AFTER INSERT ON hub_entry
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION hub_insight_note_entries();

CREATE FUNCTION hub_insight_note_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT DISTINCT date_trunc('hour', created_at) FROM added;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_members AFTER INSERT ON hub_member
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION hub_insight_note_members();

-- The points a member holds count for the chain and for each of their branches.
CREATE FUNCTION hub_insight_held_change(member text, holders bigint, points bigint)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO hub_insight_liability_change (branch_key, holders, points)
    SELECT -1, holders, points
    UNION ALL
    SELECT bm.branch_id, holders, points FROM hub_branch_member bm WHERE bm.member_id = member
$$;

-- A merge (or its undoing) moves the member's days to the survivor's, and their balance
-- out of (back into) the points held.
CREATE FUNCTION hub_insight_member_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held bigint;
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT date_trunc('hour', NEW.created_at)
    UNION
    SELECT date_trunc('hour', OLD.created_at)
    UNION
    SELECT DISTINCT date_trunc('hour', e.created_at) FROM hub_entry e
    WHERE e.member_id = NEW.member_id AND e.created_at IS NOT NULL;
    IF (OLD.merged_into IS NULL) <> (NEW.merged_into IS NULL) THEN
        SELECT greatest(b.balance, 0) INTO held FROM hub_balance b
        WHERE b.member_id = NEW.member_id;
        IF COALESCE(held, 0) > 0 THEN
            IF NEW.merged_into IS NULL THEN
                PERFORM hub_insight_held_change(NEW.member_id, 1, held);
            ELSE
                PERFORM hub_insight_held_change(NEW.member_id, -1, -held);
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_member_changed AFTER UPDATE ON hub_member FOR EACH ROW
    WHEN (OLD.merged_into IS DISTINCT FROM NEW.merged_into
          OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION hub_insight_member_changed();

-- A member's new branch: their day of joining counts there now, and their points.
CREATE FUNCTION hub_insight_note_branch_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT DISTINCT date_trunc('hour', m.created_at)
    FROM added a JOIN hub_member m ON m.member_id = a.member_id;
    INSERT INTO hub_insight_liability_change (branch_key, holders, points)
    SELECT a.branch_id, 1, b.balance
    FROM added a
    JOIN hub_balance b ON b.member_id = a.member_id AND b.balance > 0
    WHERE NOT EXISTS (SELECT 1 FROM hub_member x
                      WHERE x.member_id = a.member_id AND x.merged_into IS NOT NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_branch_members AFTER INSERT ON hub_branch_member
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION hub_insight_note_branch_members();

CREATE FUNCTION hub_insight_forget_branch_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT DISTINCT date_trunc('hour', m.created_at)
    FROM gone g JOIN hub_member m ON m.member_id = g.member_id;
    INSERT INTO hub_insight_liability_change (branch_key, holders, points)
    SELECT g.branch_id, -1, -b.balance
    FROM gone g
    JOIN hub_balance b ON b.member_id = g.member_id AND b.balance > 0
    WHERE NOT EXISTS (SELECT 1 FROM hub_member x
                      WHERE x.member_id = g.member_id AND x.merged_into IS NOT NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_branch_members_gone AFTER DELETE ON hub_branch_member
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION hub_insight_forget_branch_members();

-- A device moved to another branch: its entries' days count at the new one.
CREATE FUNCTION hub_insight_device_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_insight_dirty (hour)
    SELECT DISTINCT date_trunc('hour', e.created_at) FROM hub_entry e
    WHERE e.device_id = NEW.id AND e.created_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_device_moved AFTER UPDATE OF branch_id ON hub_device FOR EACH ROW
    WHEN (OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION hub_insight_device_moved();

-- A balance's part above 0 changed: the points held change by as much.
CREATE FUNCTION hub_insight_balance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before bigint := 0;
    after bigint := 0;
    member text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        before := greatest(OLD.balance, 0);
        member := OLD.member_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after := greatest(NEW.balance, 0);
        member := NEW.member_id;
    END IF;
    IF before = after OR EXISTS (SELECT 1 FROM hub_member x
                                 WHERE x.member_id = member AND x.merged_into IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    PERFORM hub_insight_held_change(
        member, (after > 0)::int - (before > 0)::int, after - before);
    RETURN NULL;
END $$;
CREATE TRIGGER hub_insight_balance AFTER INSERT OR UPDATE OR DELETE ON hub_balance
    FOR EACH ROW EXECUTE FUNCTION hub_insight_balance_changed();

-- What is there already.
INSERT INTO hub_insight_dirty (hour)
SELECT DISTINCT date_trunc('hour', created_at) FROM hub_entry
WHERE created_at IS NOT NULL AND status = 'stored'
UNION
SELECT DISTINCT date_trunc('hour', created_at) FROM hub_member;

INSERT INTO hub_insight_liability (branch_key, holders, points, at)
SELECT -1, count(*), COALESCE(sum(b.balance), 0), now() FROM hub_balance b
WHERE b.balance > 0 AND NOT EXISTS (SELECT 1 FROM hub_member a
                                    WHERE a.member_id = b.member_id AND a.merged_into IS NOT NULL)
UNION ALL
SELECT bm.branch_id, count(*), sum(b.balance), now()
FROM hub_balance b JOIN hub_branch_member bm ON bm.member_id = b.member_id
WHERE b.balance > 0 AND NOT EXISTS (SELECT 1 FROM hub_member a
                                    WHERE a.member_id = b.member_id AND a.merged_into IS NOT NULL)
GROUP BY bm.branch_id;
"""

UNDO = r"""
DELETE FROM hub_insight_liability;
DELETE FROM hub_insight_dirty;
DROP TRIGGER hub_insight_entries ON hub_entry;
DROP TRIGGER hub_insight_members ON hub_member;
DROP TRIGGER hub_insight_member_changed ON hub_member;
DROP TRIGGER hub_insight_branch_members ON hub_branch_member;
DROP TRIGGER hub_insight_branch_members_gone ON hub_branch_member;
DROP TRIGGER hub_insight_device_moved ON hub_device;
DROP TRIGGER hub_insight_balance ON hub_balance;
DROP FUNCTION hub_insight_note_entries();
DROP FUNCTION hub_insight_note_members();
DROP FUNCTION hub_insight_member_changed();
DROP FUNCTION hub_insight_held_change(text, bigint, bigint);
DROP FUNCTION hub_insight_note_branch_members();
DROP FUNCTION hub_insight_forget_branch_members();
DROP FUNCTION hub_insight_device_moved();
DROP FUNCTION hub_insight_balance_changed();
DROP INDEX hub_branch_member_by_member;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_rollups"),
        ("ledger", "0005_entry_panel_indexes"),
        ("members", "0007_member_panel_indexes"),
        ("devices", "0003_storage_key"),
    ]

    operations = [migrations.RunSQL(TRIGGERS, UNDO)]
