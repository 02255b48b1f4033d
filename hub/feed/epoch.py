"""The feed's epoch: which numbering the feed's cursors belong to (docs/sync-protocol.md).

`hub_change.cursor` is a bigserial, and a database restored from a dump, or to a point in
time, sets its sequence back: the numbers after the restored head are handed out again, to
other changes. A kiosk whose cursor is past that head would skip them (an erasure, a block,
a staff change) without a sign. So every page of the feed names its epoch, and a kiosk that
hears another one reads the feed again from 0.

The epoch is a digest of what a restore changes and a restart does not:

- the cluster's `system_identifier` (a new cluster: restored on another server, initdb);
- its timeline, as of the last checkpoint (point-in-time recovery and a promoted standby
  start a new one; after a promotion it changes with the first checkpoint);
- the OID of the database (a dump restored into a new database) and of `hub_change` (a dump
  restored over the same database with `pg_restore --clean` makes the table again);
- the nonce of `hub feed reset-epoch`, for a restore none of these shows (a file-level copy
  of the whole cluster put back, for instance). A dump carries the nonce, so on its own it
  would name nothing.

Each is readable by the hub's role without any grant (PostgreSQL 15: `pg_control_system()`
and `pg_control_checkpoint()` are executable by PUBLIC). A change of epoch that was no
restore (`pg_upgrade` makes a new cluster) costs a kiosk one reading of the feed, which
changes nothing: every change applies again harmlessly.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import connection, transaction
from django.utils import timezone

from hub.feed.models import Change, FeedEpoch

_NONCE = FeedEpoch._meta.db_table
_QUERY = (
    "SELECT (SELECT system_identifier FROM pg_control_system()), "
    "(SELECT timeline_id FROM pg_control_checkpoint()), "
    "d.oid, %s::regclass::oid, "
    f"(SELECT nonce FROM {_NONCE} WHERE slot = 1) "
    "FROM pg_database d WHERE d.datname = current_database()"
)


def current(table: str = Change._meta.db_table) -> str:
    """The feed's epoch now: 32 hex digits, the same until a restore or a reset.

    `table` is the table whose OID goes in: `hub_change` for the kiosks' feed; the read
    API's events cursor names the epoch of `hub_integration_event` (hub/integration/feed.py),
    made again by its own `pg_restore --clean`, and reset by the same nonce.
    """
    with connection.cursor() as cursor:
        cursor.execute(_QUERY, [table])
        system, timeline, database, table, nonce = cursor.fetchone()
    named = f"{system}:{timeline}:{database}:{table}:{nonce or ''}"
    return hashlib.sha256(named.encode()).hexdigest()[:32]


def reset() -> str:
    """A new epoch (a new nonce): every kiosk reads the feed again from 0 at its next pull."""
    with transaction.atomic():
        FeedEpoch.objects.update_or_create(
            slot=1, defaults={"nonce": secrets.token_hex(16), "reset_at": timezone.now()}
        )
    return current()
