"""Referrals: a member's short code, a new member naming who sent them, both rewarded.

The code (`code_for`) is 8 digits (the first never 0) from a keyed hash of the member
id: typed on the kiosk's digit keypad in either language, never taken for a phone (11
digits), stable for the member at every kiosk and the hub, with nothing personal in it
(member ids are random; the hash is keyed only to keep it apart from other uses of the
id). A typed code is read in Persian, Arabic or Latin digits, with or without spaces or a
dash (`parse_code`). Two members held here with one code (rare: 90 million codes) make it
ambiguous, and the phone is asked for instead. A code names a member this kiosk holds
(its own, or one pulled from the hub); a referrer held nowhere here is named by their
phone instead, which the hub's lookup finds.

The rule is the chain's signed program's `referral` ({"enabled", "referrer_bonus",
"referee_bonus", "max_per_month", "min_purchase"}), the kiosk's `[program.referral]`
config only while the program says nothing (as `feedback` travels). At the new member's
first purchase of at least `min_purchase` rial (`decide`), both get a `bonus` entry with
reason `referral` (the referrer's reason names the new member's id, nothing else),
unless it is a self-referral (the same member, or ids merged into one) or the referrer
was already paid `max_per_month` referrals in that calendar month (the program's
`birthday_calendar`: the Jalali month in a Persian chain). A void of that purchase takes
both back with `adjust` entries of reason `referral_void` (a `reversal` names only an
earn or a redemption: `ledger verify` and the hub hold to that).

Paid once: later purchases never pay, and a voided or refused referral stays so.

The hub decides in the end (hub/ledger/referrals.py): the referral goes to it with the new
member's record (`referrer_id`, kiosk/core/store/outbox.py); it stores these bonuses only
for a referral it holds, after the purchase, once, within the referrer's cap at every
branch, and pays a first purchase made at another branch itself. A balance pulled
from the hub (the feed, a lookup) says when the new member's referral is settled there
(`referral`): a referral still pending here takes the hub's state (`settled_at_hub`), so
a later purchase here pays nothing. A kiosk that has not pulled since still pays at a
purchase; the hub refuses that payment and the balances shown here follow the hub's at
the next pull.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime

from kiosk.config import KioskConfig
from kiosk.core.clock import to_iso
from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.store.outbox import SyncState
from kiosk.text.digits import to_ascii_digits

CODE_LENGTH = 8
_KEY = b"loyalty-kiosk referral code v1"
_LARGEST = 2**53 - 1
REASON = "referral"
VOID_REASON = "referral_void"
INVALID = (TypeError, ValueError)
SETTLED = ("paid", "capped", "refused", "voided")
log = logging.getLogger(__name__)


def code_for(member_id: str) -> str:
    """The member's referral code (8 digits, the first not 0)."""
    digest = hmac.new(_KEY, member_id.encode(), hashlib.sha256).digest()
    low = 10 ** (CODE_LENGTH - 1)
    return str(low + int.from_bytes(digest[:8], "big") % (9 * low))


def shown(code: str) -> str:
    """The code as shown: two groups of four (`4821 0937`)."""
    return f"{code[:4]} {code[4:]}"


def parse_code(text: str) -> str | None:
    """The code typed in `text`, normalized; None when it is not one's shape (a phone)."""
    cleaned = "".join(c for c in to_ascii_digits(text or "") if c not in " -\u200c\u200f")
    if len(cleaned) != CODE_LENGTH or not cleaned.isdigit() or cleaned[0] == "0":
        return None
    return cleaned


@dataclass(frozen=True)
class ReferralRule:
    """The program's referral rule."""

    enabled: bool = False
    referrer_bonus: int = 0
    referee_bonus: int = 0
    max_per_month: int = 0  # 0: no referrer is paid at all
    min_purchase: int = 0


def referral_rules(data: dict[str, Any]) -> dict[str, Any]:
    """The program's `referral` fields (any may be missing); raises when malformed."""
    given = data.get("referral")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise TypeError("referral is an object")
    found: dict[str, Any] = {}
    for name, value in given.items():
        if name == "enabled":
            if not isinstance(value, bool):
                raise TypeError("referral.enabled is true or false")
        elif name in ("referrer_bonus", "referee_bonus", "max_per_month", "min_purchase"):
            if type(value) is not int or not 0 <= value <= _LARGEST:
                raise ValueError(f"referral.{name} is a whole number of 0 or more")
        else:
            raise ValueError(f"referral has an unknown field {name!r}")
        found[name] = value
    return found


def rule_for(conn: sqlite3.Connection, config: ReferralRule) -> ReferralRule:
    """The rule in force: the pulled program's where it says, else the kiosk's config."""
    data = SyncState(conn).get(PROGRAM_KEY)
    if not data:
        return config
    try:
        given = referral_rules(data)
    except INVALID:
        return config  # a program the kiosk would not apply (kiosk/core/pulled.py)
    fields = {**config.__dict__, **given}
    return ReferralRule(**fields)


def month_of(at: datetime, tz: ZoneInfo, calendar: str) -> tuple[date, date]:
    """The first day of the calendar month `at` falls in (shop time) and of the next."""
    day = at.astimezone(tz).date()
    if calendar == "jalali":
        j = jdatetime.date.fromgregorian(date=day)
        first = jdatetime.date(j.year, j.month, 1)
        following = jdatetime.date(j.year + (j.month == 12), j.month % 12 + 1, 1)
        return first.togregorian(), following.togregorian()
    first_g = day.replace(day=1)
    next_g = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return first_g, next_g


def decide(
    rule: ReferralRule, *, amount: int, same_person: bool, paid_this_month: int
) -> tuple[str, int, int]:
    """What a pending referral becomes at a purchase of `amount`: (state, the new member's
    points, the referrer's points). "pending" waits for a larger purchase."""
    if not rule.enabled:
        return "pending", 0, 0
    if amount < rule.min_purchase:
        return "pending", 0, 0
    if same_person:
        return "refused", 0, 0
    if paid_this_month >= rule.max_per_month:
        return "capped", 0, 0
    return "paid", rule.referee_bonus, rule.referrer_bonus


@dataclass(frozen=True)
class Referral:
    """A new member's referrer, and what became of it."""

    member_id: str
    referrer_id: str
    state: str
    purchase_id: str | None
    referee_entry: str | None
    referrer_entry: str | None


class Referrals:
    """Reads and writes `referrals` (kiosk/core/store/schema.py), inside the caller's
    transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def by_code(self, code: str) -> list[str]:
        """The ids of members held here whose code is `code` (none, one, rarely more)."""
        rows = self.conn.execute(
            "SELECT member_id FROM members WHERE status = 'active' "
            "AND member_id NOT IN (SELECT member_id FROM merged_members)"
        ).fetchall()
        return [str(r[0]) for r in rows if code_for(str(r[0])) == code]

    def add(self, member_id: str, referrer_id: str, now: datetime) -> None:
        self.conn.execute(
            "INSERT INTO referrals (member_id, referrer_id, created_at) VALUES (?, ?, ?)",
            (member_id, referrer_id, to_iso(now)),
        )

    def of(self, member_id: str) -> Referral | None:
        row = self.conn.execute(
            "SELECT member_id, referrer_id, state, purchase_id, referee_entry, referrer_entry "
            "FROM referrals WHERE member_id = ?",
            (member_id,),
        ).fetchone()
        return Referral(*row) if row else None

    def by_purchase(self, entry_id: str) -> Referral | None:
        row = self.conn.execute(
            "SELECT member_id, referrer_id, state, purchase_id, referee_entry, referrer_entry "
            "FROM referrals WHERE purchase_id = ? AND state = 'paid'",
            (entry_id,),
        ).fetchone()
        return Referral(*row) if row else None

    def paid_between(self, referrer_id: str, start: str, end: str) -> int:
        """Referrals paid to `referrer_id` (or ids merged with it) from `start` to `end`."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM referrals WHERE state = 'paid' "
            "AND paid_at >= :start AND paid_at < :end AND referrer_id IN ("
            "SELECT :referrer UNION "
            "SELECT member_id FROM merged_members WHERE into_id = :referrer)",
            {"start": start, "end": end, "referrer": referrer_id},
        ).fetchone()
        return int(row[0])

    def settle(
        self,
        member_id: str,
        state: str,
        *,
        purchase_id: str | None = None,
        paid_at: str | None = None,
        referee_entry: str | None = None,
        referrer_entry: str | None = None,
    ) -> None:
        self.conn.execute(
            "UPDATE referrals SET state = ?, purchase_id = ?, paid_at = ?, referee_entry = ?, "
            "referrer_entry = ? WHERE member_id = ?",
            (state, purchase_id, paid_at, referee_entry, referrer_entry, member_id),
        )

    def voided(self, member_id: str) -> None:
        self.conn.execute("UPDATE referrals SET state = 'voided' WHERE member_id = ?", (member_id,))


# -- at the counter (kiosk/core/enrollment.py and kiosk/core/service.py call these) ----------


def config_rule(config: KioskConfig) -> ReferralRule:
    """The kiosk config's rule (`[program.referral]`), in force while no program says."""
    given = config.program.referral
    return ReferralRule(
        enabled=given.enabled,
        referrer_bonus=given.referrer_bonus,
        referee_bonus=given.referee_bonus,
        max_per_month=given.max_per_month,
        min_purchase=given.min_purchase,
    )


def same_person(conn: sqlite3.Connection, a: str, b: str) -> bool:
    """Whether two member ids are one person's: equal, or merged into one by the hub."""

    def root(member_id: str) -> str:
        row = conn.execute(
            "SELECT into_id FROM merged_members WHERE member_id = ?", (member_id,)
        ).fetchone()
        return str(row[0]) if row else member_id

    return root(a) == root(b)


def pay_at_purchase(
    service: Any, member_id: str, amount: int, purchase_id: str, now: datetime, cashier_id: Any
) -> list[tuple[str, int]]:
    """At a purchase just written (inside its transaction): the new member's referral
    bonus, if this is the purchase that pays it. Returns [(entry id, points)] of the new
    member's own bonus (the referrer's is theirs, not shown at this purchase)."""
    referrals = Referrals(service.conn)
    referral = referrals.of(member_id)
    if referral is None or referral.state != "pending":
        return []
    rule = rule_for(service.conn, config_rule(service.config))
    first, following = month_of(now, service.tz, service.program.birthday_calendar)
    start = datetime.combine(first, datetime.min.time(), tzinfo=service.tz)
    end = datetime.combine(following, datetime.min.time(), tzinfo=service.tz)
    paid = referrals.paid_between(referral.referrer_id, to_iso(start), to_iso(end))
    state, referee_points, referrer_points = decide(
        rule,
        amount=amount,
        same_person=same_person(service.conn, member_id, referral.referrer_id),
        paid_this_month=paid,
    )
    if state == "pending":
        return []
    if state != "paid":
        referrals.settle(member_id, state, purchase_id=purchase_id)
        return []
    stamp = to_iso(now)
    written: dict[str, str | None] = {"referee": None, "referrer": None}
    shown_bonus = []
    for who, target, points, reason in (
        ("referee", member_id, referee_points, REASON),
        ("referrer", referral.referrer_id, referrer_points, f"{REASON}:{member_id}"),
    ):
        if points <= 0:
            continue
        entry = service.ledger.append(
            kind="bonus",
            member_id=target,
            points=points,
            created_at=stamp,
            client_txn_id=f"{REASON}:{who}:{member_id}",
            reason=reason,
            cashier_id=cashier_id,
            expires_at=service.expiry_for(now),
        )
        written[who] = entry.entry_id
        if who == "referee":
            shown_bonus.append((entry.entry_id, points))
    referrals.settle(
        member_id,
        "paid",
        purchase_id=purchase_id,
        paid_at=stamp,
        referee_entry=written["referee"],
        referrer_entry=written["referrer"],
    )
    return shown_bonus


def take_back_at_void(service: Any, purchase_id: str, now: datetime, cashier_id: Any) -> None:
    """At a void of `purchase_id` (inside its transaction): the referral bonuses it paid,
    taken back by `adjust` entries (reason `referral_void`); the referral is then spent."""
    referrals = Referrals(service.conn)
    referral = referrals.by_purchase(purchase_id)
    if referral is None:
        return
    for entry_id in (referral.referee_entry, referral.referrer_entry):
        if entry_id is None:
            continue
        bonus = service.ledger.get(entry_id)
        service.ledger.append(
            kind="adjust",
            member_id=bonus.member_id,
            points=-bonus.points,
            created_at=to_iso(now),
            client_txn_id=f"{VOID_REASON}:{entry_id}",
            reason=VOID_REASON,
            cashier_id=cashier_id,
        )
    referrals.voided(referral.member_id)


# -- from the hub (kiosk/core/pulled.py calls this) -------------------------------------


def settled_at_hub(conn: sqlite3.Connection, member_id: str, given: object) -> None:
    """A pulled balance's `referral` (inside the pull's transaction): the new member's
    referral, pending here (under their id or one merged into it), takes the hub's state
    and, when paid, its time (counted in the referrer's month here). One settled here
    stays as it is (its own entries and their void are this kiosk's). One not in the
    protocol's form is left out."""
    try:
        if not isinstance(given, dict):
            raise TypeError("referral is an object")
        state, paid_at = given["state"], given.get("paid_at")
        if state not in SETTLED:
            raise ValueError("referral.state is paid, capped, refused or voided")
        if paid_at is not None:
            paid_at = to_iso(datetime.fromisoformat(str(paid_at).replace("Z", "+00:00")))
    except (*INVALID, KeyError) as exc:
        log.warning("the hub's referral of a member is not usable (%s)", exc)
        return
    conn.execute(
        "UPDATE referrals SET state = :state, paid_at = :paid_at WHERE state = 'pending' "
        "AND member_id IN (SELECT :member UNION "
        "SELECT member_id FROM merged_members WHERE into_id = :member)",
        {"state": state, "paid_at": paid_at if state == "paid" else None, "member": member_id},
    )
