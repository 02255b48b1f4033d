"""The commit-time numbering (0002) done once per transaction, not once per event.

The trigger is a row trigger (a constraint trigger has to be): a push of 500 entries
fires it 500 times at commit. The first numbers every event of the transaction and notes
the transaction in a setting local to it; the others see the note and return at once.
"""

from django.db import migrations

LOCK = 0x43726D45  # the same lock as 0002's

FORWARD = f"""
CREATE OR REPLACE FUNCTION hub_integration_event_number() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('hub.events_numbered', true) = NEW.txid::text THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK});
    UPDATE hub_integration_event e SET position = n.position
    FROM (
        SELECT o.id, nextval('hub_integration_event_position') AS position
        FROM (SELECT id FROM hub_integration_event
              WHERE txid = NEW.txid AND position IS NULL ORDER BY id) o
    ) n
    WHERE e.id = n.id;
    PERFORM set_config('hub.events_numbered', NEW.txid::text, true);
    RETURN NULL;
END
$$;
"""

BACKWARD = f"""
CREATE OR REPLACE FUNCTION hub_integration_event_number() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK});
    UPDATE hub_integration_event e SET position = n.position
    FROM (
        SELECT o.id, nextval('hub_integration_event_position') AS position
        FROM (SELECT id FROM hub_integration_event
              WHERE txid = NEW.txid AND position IS NULL ORDER BY id) o
    ) n
    WHERE e.id = n.id;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("integration", "0002_event_position")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
