"""The chain heads a device's pushes name: kept, compared, and a broken one flagged.

docs/sync-protocol.md, "The chain head". Each kiosk chains its ledger entries and audit
records by SHA-256; a push names the ledger's link at its batch's last entry and the audit
log's last link. The hub recomputes the ledger's link from the entries it holds as pushed
(`as_pushed`), starting at the head it kept, and flags `chain_broken` when they differ: the
kiosk's history up to a head it had already named was rewritten. The audit records never
reach the hub, so of the audit head it can only tell one that went back or changed at the
same id. Never a reason to refuse the push: the kiosk must not lose sales.

The canonical bytes are the kiosk's (kiosk/core/store/chain.py), written again here: the
hub builds in of the kiosk's code only what lives in `sync/` (the request signing and the
owner's key), and the kiosk's core may not import `sync/`. The two copies cannot drift
unseen: tests/hub/test_chain_head.py has a real kiosk push to a real hub, and an honest
kiosk flagged `chain_broken` fails it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.db import connection

from hub.devices.models import Device
from hub.flags.flags import Raised
from hub.ledger.models import ChainHead, Entry

GENESIS = "0" * 64
LEDGER_FIELDS = (
    "entry_id",
    "device_id",
    "seq",
    "kind",
    "member_id",
    "points",
    "amount",
    "currency",
    "cashier_id",
    "created_at",
    "client_txn_id",
    "reverses",
    "reward_id",
    "coupon_code",
    "reason",
    "expires_at",
)
_TAG = b"loyalty-kiosk ledger v1\n"
_HASH = re.compile(r"[0-9a-f]{64}")
_ENTRIES = Entry._meta.db_table
_HEADS = ChainHead._meta.db_table
_PAGE = 5000


def ledger_hash(prev: str, entry: dict[str, Any]) -> str:
    """The link of one entry (as pushed) after `prev`."""
    body = json.dumps(
        {name: entry.get(name) for name in LEDGER_FIELDS}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(_TAG + prev.encode("ascii") + b"\n" + body.encode("utf-8")).hexdigest()


def head_of(value: object, position: str) -> tuple[int, str] | None:
    """A head of the push body (`{"seq"|"id": n, "hash": hex}`), or None if malformed."""
    if not isinstance(value, dict):
        return None
    at, digest = value.get(position), value.get("hash")
    if type(at) is not int or not 0 <= at < 2**63 or not isinstance(digest, str):
        return None
    return (at, digest) if _HASH.fullmatch(digest) else None


def check(device: Device, chain_head: object, high_water: int) -> list[Raised]:
    """Compare the push's heads with those kept and keep the new ones; the flags to raise.

    Runs in the push's transaction, under its lock on the device's high-water row.
    """
    if not isinstance(chain_head, dict):
        return []
    raised: list[Raised] = []
    kept = _kept(device)
    ledger = head_of(chain_head.get("ledger"), "seq")
    if ledger is not None and ledger[0] <= high_water:  # above the mark: not all held yet
        before = kept.get("ledger", (0, GENESIS))
        if ledger[0] >= before[0]:
            if _recompute(device, before, ledger[0]) != ledger[1]:
                raised.append(
                    Raised(
                        "chain_broken",
                        detail={"chain": "ledger", "seq": ledger[0], "kept_seq": before[0]},
                    )
                )
            _keep(device, "ledger", ledger)
    audit = head_of(chain_head.get("audit"), "id")
    if audit is not None:
        before = kept.get("audit", (0, GENESIS))
        if audit[0] < before[0] or (audit[0] == before[0] and audit[1] != before[1]):
            raised.append(
                Raised(
                    "chain_broken", detail={"chain": "audit", "id": audit[0], "kept_id": before[0]}
                )
            )
        if audit[0] >= before[0]:
            _keep(device, "audit", audit)
    return raised


def _recompute(device: Device, start: tuple[int, str], seq: int) -> str:
    """The link at `seq` from the kept head, over the entries held after it, in order."""
    after, link = start
    with connection.cursor() as cursor:
        while after < seq:  # in pages: a device's first head may cover its whole history
            cursor.execute(
                f"SELECT seq, as_pushed FROM {_ENTRIES} WHERE device_id = %s AND seq > %s "
                "AND seq <= %s ORDER BY seq LIMIT %s",
                [device.pk, after, seq, _PAGE],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            for number, text in rows:
                entry = json.loads(text)
                link = ledger_hash(link, entry if isinstance(entry, dict) else {})
                after = int(number)
    return link


def _kept(device: Device) -> dict[str, tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT chain, at, hash FROM {_HEADS} WHERE device_id = %s", [device.pk])
        return {str(c): (int(a), str(h)) for c, a, h in cursor.fetchall()}


def _keep(device: Device, chain: str, head: tuple[int, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_HEADS} (device_id, chain, at, hash, updated_at) "
            "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (device_id, chain) "
            "DO UPDATE SET at = excluded.at, hash = excluded.hash, updated_at = now()",
            [device.pk, chain, *head],
        )
