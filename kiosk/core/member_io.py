"""Members in and out of CSV: a checked import (every bad row named) and an export."""

from __future__ import annotations

import csv
import difflib
import getpass
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from kiosk.core.cards import normalize_uid
from kiosk.core.clock import to_iso
from kiosk.core.service import LoyaltyService
from kiosk.core.service_base import clean_name
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.staff import Actor
from kiosk.errors import InvalidInput, KioskError
from kiosk.text.dates import parse_date_input
from kiosk.text.digits import to_ascii_digits
from kiosk.text.phone import normalize_phone

COLUMNS = ("phone", "name", "birthday", "card", "consent", "consent_version", "points")
_YES = {"1", "y", "yes", "true", "بله", "آری"}
_NO = {"", "0", "n", "no", "false", "خیر", "نه"}


@dataclass(frozen=True)
class ImportRow:
    """One checked row of a member CSV file."""

    line: int
    phone: str
    name: str | None
    birthday: date | None
    card: str | None
    consent: bool
    consent_version: str | None
    points: int


def read_member_csv(path: Path, service: LoyaltyService) -> tuple[list[ImportRow], list[str]]:
    """Read and check a member CSV; returns the good rows and one problem line per bad row."""
    rows: list[ImportRow] = []
    problems: list[str] = []
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        if "phone" not in header:
            raise InvalidInput(f"{path}: the first line must name the columns, phone among them.")
        for name in header:
            if name not in COLUMNS:
                hint = difflib.get_close_matches(name, COLUMNS, n=1)
                extra = f' (did you mean "{hint[0]}"?)' if hint else ""
                problems.append(f"line 1: unknown column {name!r}{extra}")
        seen_phone: dict[str, int] = {}
        seen_card: dict[str, int] = {}
        for record in tqdm(reader, desc="checking", unit=" rows", disable=None, leave=False):
            line = reader.line_num
            try:
                row = _check_row(line, record, service)
                if row.phone in seen_phone:
                    raise InvalidInput(f"the phone number is also on line {seen_phone[row.phone]}")
                if row.card and row.card in seen_card:
                    raise InvalidInput(f"the card is also on line {seen_card[row.card]}")
            except KioskError as exc:
                problems.append(f"line {line}: {exc}")
                continue
            seen_phone[row.phone] = line
            if row.card:
                seen_card[row.card] = line
            rows.append(row)
    return rows, problems


def _check_row(line: int, record: dict[str, str | None], service: LoyaltyService) -> ImportRow:
    def field(name: str) -> str:
        return (record.get(name) or "").strip()

    phone = normalize_phone(field("phone"), service.config.shop.phone_region)
    if service.members.id_by_phone(phone) is not None:
        raise InvalidInput("this phone number is already enrolled")
    card = normalize_uid(field("card")) if field("card") else None
    if card and service.members.card(card) is not None:
        raise InvalidInput("this card already belongs to someone")
    consent_text = field("consent").lower()
    if consent_text not in _YES | _NO:
        raise InvalidInput(f"consent must be yes or no, not {field('consent')!r}")
    consent = consent_text in _YES
    version = field("consent_version") or None
    if consent and not version:
        raise InvalidInput("consent needs a consent_version (the version of the text shown)")
    points_text = to_ascii_digits(field("points"))
    if points_text and not points_text.isdigit():
        raise InvalidInput(f"points must be a whole number >= 0, not {field('points')!r}")
    return ImportRow(
        line=line,
        phone=phone,
        name=clean_name(field("name") or None),
        birthday=parse_date_input(field("birthday")) if field("birthday") else None,
        card=card,
        consent=consent,
        consent_version=version,
        points=int(points_text or 0),
    )


def import_members(service: LoyaltyService, rows: list[ImportRow], *, actor: Actor) -> int:
    """Enroll checked rows in one transaction (all or none); opening points become adjustments."""
    actor.require("import")
    now = service.clock()
    stamp = to_iso(now)
    base_tier = service.program.tiers[0].id
    expiry = service.expiry_for(now)
    with write_transaction(service.conn):
        for row in tqdm(rows, desc="importing", unit=" members", disable=None, leave=False):
            member_id = service.members.create(
                phone=row.phone,
                name=row.name,
                birthday=row.birthday,
                language=None,
                tier=base_tier,
                device_id=service.device_id,
                now=stamp,
            )
            if row.card:
                service.members.link_card(row.card, member_id=member_id, now=stamp)
            if row.consent_version:
                service.members.set_consent(
                    member_id,
                    marketing=row.consent,
                    version=row.consent_version,
                    now=stamp,
                    source="import",
                )
            if row.points:
                service.ledger.append(
                    kind="adjust",
                    member_id=member_id,
                    points=row.points,
                    created_at=stamp,
                    reason="import",
                    cashier_id=actor.actor_id,
                    expires_at=expiry,
                )
        audit.record(
            service.conn,
            at=stamp,
            actor=actor.actor_id,
            action="member.import",
            details={"members": len(rows)},
        )
    return len(rows)


EXPORT_COLUMNS = (
    "member_id",
    "phone",
    "name",
    "birthday",
    "cards",
    "balance",
    "tier",
    "consent_marketing",
    "consent_version",
    "consent_at",
    "created_at",
    "status",
)


def export_members(
    service: LoyaltyService,
    out: TextIO,
    *,
    actor: Actor,
    fmt: str = "csv",
    member_id: str | None = None,
    destination: str = "file",
) -> int:
    """Write members (or one member) with their personal data as CSV or JSON lines; audited.

    The audit record (`member.export`) names who, how many and where to (a file or the
    standard output), never whom: a file name can hold a person's name.
    """
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for record in _export_rows(service, member_id):
            writer.writerow(record)
            count += 1
    else:
        for record in _export_rows(service, member_id):
            out.write(
                json.dumps(dict(zip(EXPORT_COLUMNS, record, strict=True)), ensure_ascii=False)
            )
            out.write("\n")
            count += 1
    details = {"members": count, "format": fmt, "to": destination}
    _disclosed(service, actor, "member.export", member_id, details)
    return count


def member_read(service: LoyaltyService, member_id: str, *, actor: Actor) -> None:
    """Audit that `actor` read one member's personal data (`kiosk member show`)."""
    _disclosed(service, actor, "member.read", member_id, {})


def _disclosed(
    service: LoyaltyService,
    actor: Actor,
    action: str,
    member_id: str | None,
    details: dict[str, object],
) -> None:
    # Who ran the command at the Pi: the CLI's actor is the same for every technician.
    user = _os_user()
    if user:
        details = {**details, "os_user": user}
    with write_transaction(service.conn):
        audit.record(
            service.conn,
            at=to_iso(service.clock()),
            actor=actor.actor_id,
            action=action,
            target=member_id,
            details=details,
        )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER (a bare container)
        return ""


def _export_rows(service: LoyaltyService, member_id: str | None) -> Iterator[tuple[object, ...]]:
    yield from service.members.export_rows(member_id)
