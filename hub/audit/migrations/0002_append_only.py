"""The audit log only grows: PostgreSQL refuses to delete or rewrite an event.

A view with a bug, or an injected statement through the application's own connection,
cannot then remove the trace of what was done. The one change allowed is the one Django
makes when a user or a branch is removed (the key set to null: the event keeps the
actor's name); TRUNCATE is left to the database's owner (restoring a backup).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION hub_audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND (NEW.actor_id IS NULL OR NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id)
        AND (NEW.branch_id IS NULL OR NEW.branch_id IS NOT DISTINCT FROM OLD.branch_id)
        AND (NEW.at, NEW.actor_name, NEW.role, NEW.action, NEW.subject, NEW.detail, NEW.ip)
            IS NOT DISTINCT FROM
            (OLD.at, OLD.actor_name, OLD.role, OLD.action, OLD.subject, OLD.detail, OLD.ip)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER hub_audit_event_append_only
    BEFORE UPDATE OR DELETE ON hub_audit_event
    FOR EACH ROW EXECUTE FUNCTION hub_audit_event_append_only();
"""

BACKWARD = """
DROP TRIGGER hub_audit_event_append_only ON hub_audit_event;
DROP FUNCTION hub_audit_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
