"""Events numbered in commit order, for the read API's cursor (hub/integration/feed.py).

A deferred constraint trigger runs at the commit of each transaction that wrote events:
it takes an advisory lock (held until the commit ends) and numbers the transaction's
events from a sequence. Transactions are numbered one after another, each after the one
before has committed, so a reader that sees a position sees every lower one. Pushes take
the change feed's lock at their end already (hub/feed/feed.py), so this adds no new wait
of one push for another; it is taken last, after every other lock, so no deadlock.
"""

from django.db import migrations, models

# The advisory lock's key: "CrmE".
LOCK = 0x43726D45

FORWARD = f"""
CREATE SEQUENCE hub_integration_event_position;
CREATE FUNCTION hub_integration_event_number() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE CONSTRAINT TRIGGER hub_integration_event_number
    AFTER INSERT ON hub_integration_event
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION hub_integration_event_number();
"""

BACKWARD = """
DROP TRIGGER hub_integration_event_number ON hub_integration_event;
DROP FUNCTION hub_integration_event_number();
DROP SEQUENCE hub_integration_event_position;
"""


class Migration(migrations.Migration):
    dependencies = [("integration", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="event", name="position", field=models.BigIntegerField(null=True)
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["position"], name="hub_int_event_position"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
