"""Any sequence of enroll / earn / redeem / void / adjust / expire keeps the books straight.

With two offers (one by the hour) and the birthday window and anniversary bonuses on, so
that offer-raised earns and `bonus` entries of reasons `birthday` and `anniversary` come
and go with the clock (docs/program.md); with streaks and badges; and with referrals, so
that members enrolled naming another are paid at their first qualifying purchase, within
the monthly cap, and taken back (`referral_void`) when that purchase is voided.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
)

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock, from_iso, to_iso
from kiosk.core.referral import month_of
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import InsufficientPoints, KioskError, LimitReached, NotReversible
from tests.conftest import START, make_config

PHONES = [f"0912{n:07d}" for n in range(1_000_001, 1_000_009)]
# Near the machine's start (1 March 2026, 10 Esfand 1404) so that windows open often, and
# the edges: Nowruz's eve, 29 February, 30 Esfand of a leap year (1399), 1 January.
BIRTHDAYS = [
    None,
    date(1990, 3, 2),
    date(1990, 2, 27),
    date(1990, 3, 20),
    date(2000, 2, 29),
    date(2021, 3, 20),
    date(1985, 1, 1),
]
OFFERS = (
    'program.offers=[{id="noon", multiplier="2", from_time="12:00", until_time="14:00"}, '
    '{id="basket", bonus=15, min_amount=20000000}]'
)
# Streaks and badges (kiosk/core/badges.py): each a `bonus` entry with reason badge:<id>.
BADGES = (
    "program.badges.milestones=[{visits=3, bonus=25}, {visits=6, bonus=60}]",
    "program.badges.streak_weeks=[2]",
    "program.badges.streak_bonus=10",
    "program.badges.tier_bonus=40",
)
BADGE_REASONS = {"badge:visits-3", "badge:visits-6", "badge:streak-2w"} | {
    f"badge:tier-{tier}" for tier in ("silver", "gold")
}
# Referrals (kiosk/core/referral.py): `referral` for the new member, `referral:<their id>`
# for the referrer, at the first purchase of at least 5,000,000 rial; two a month at most.
REFERRAL = (
    "program.referral.enabled=true",
    "program.referral.referrer_bonus=40",
    "program.referral.referee_bonus=20",
    "program.referral.max_per_month=2",
    "program.referral.min_purchase=5000000",
)
BONUS_REASONS = {"enrollment", "birthday", "anniversary", "referral", *BADGE_REASONS}
CASHIER = Actor("s-test", "cashier")
MANAGER = Actor("s-boss", "manager")


class LedgerMachine(RuleBasedStateMachine):
    """Drives the real service on a real database and checks the invariants after each step."""

    members = Bundle("members")
    referred = Bundle("referred")  # members enrolled naming a referrer
    entries = Bundle("entries")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ledger-sm-"))
        self.clock = ManualClock(START)
        self.service = Appliance(
            make_config(
                "program.limits.min_minutes_between_earns=0",
                "program.limits.max_earns_per_day=1000",
                "program.expiry.days=60",
                OFFERS,
                "program.anniversary_bonus=30",
                "program.anniversary_window_days=3",
                "program.birthday_window_before_days=2",
                *BADGES,
                *REFERRAL,
            ),
            self.folder,
            clock=self.clock,
        ).open_service()
        self.txn = 0
        self.voided: set[str] = set()

    def next_txn(self) -> str:
        self.txn += 1
        return f"sm-{self.txn}"

    def teardown(self) -> None:
        self.service.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(target=members, phone=st.sampled_from(PHONES), birthday=st.sampled_from(BIRTHDAYS))
    def enroll(self, phone: str, birthday: date | None):
        try:
            return self.service.enroll(
                phone, client_txn_id=self.next_txn(), birthday=birthday
            ).member_id
        except KioskError:
            return multiple()

    @rule(
        targets=(members, referred),
        phone=st.sampled_from(PHONES),
        referrer=members,
        same_phone=st.booleans(),
    )
    def enroll_referred(self, phone: str, referrer: str, same_phone: bool):
        """A new member naming a member who sent them (or, refused, themselves)."""
        if same_phone:
            sender = self.service.member(referrer).person
            phone = sender.phone if sender is not None else phone
        try:
            enrolled = self.service.enroll(phone, client_txn_id=self.next_txn(), referrer=referrer)
        except KioskError:
            return multiple()
        event("referred enrollment")
        return enrolled.member_id

    @rule(target=entries, member=members, amount=st.integers(1, 60_000_000))
    def earn(self, member: str, amount: int):
        try:
            result = self.service.earn(
                member,
                amount,
                cashier=CASHIER,
                client_txn_id=self.next_txn(),
                approved_by=MANAGER,
            )
        except LimitReached:
            return multiple()
        for bonus in result.bonuses:
            event(f"{bonus.reason} bonus")
        return result.entry_id

    @rule(target=entries, member=referred, amount=st.integers(4_000_000, 8_000_000))
    def a_referred_members_purchase(self, member: str, amount: int):
        """Around the referral's least purchase: the one at or above it pays both sides."""
        try:
            result = self.service.earn(
                member, amount, cashier=CASHIER, client_txn_id=self.next_txn()
            )
        except LimitReached:
            return multiple()
        if any(b.reason == "referral" for b in result.bonuses):
            event("referral paid at its purchase")
        return result.entry_id

    @rule(target=entries, member=members)
    def earn_toward_a_milestone(self, member: str):
        """A visit the next day: once the member has 3 visit days, the badge is there once."""
        self.clock.advance(days=1)
        result = self.service.earn(
            member, 1_000_000, cashier=CASHIER, client_txn_id=self.next_txn()
        )
        conn = self.service.conn
        days = {
            from_iso(at).astimezone(self.service.tz).date()
            for (at,) in conn.execute(
                "SELECT created_at FROM entries e WHERE member_id = ? "
                "AND kind IN ('earn', 'redeem') "
                "AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)",
                (member,),
            )
        }
        given = conn.execute(
            "SELECT COUNT(*) FROM entries WHERE member_id = ? AND reason = 'badge:visits-3'",
            (member,),
        ).fetchone()[0]
        assert given <= 1, given  # never twice, a void of its visit or not
        if len(days) >= 3:
            assert given == 1, (len(days), given)
        if any(b.reason == "badge:visits-3" for b in result.bonuses):
            event("badge:visits-3 at its visit")
        return result.entry_id

    @rule(target=entries, member=members, reward=st.sampled_from(["coffee", "discount-100k"]))
    def redeem(self, member: str, reward: str):
        before = self.service.ledger.balance(member)
        try:
            result = self.service.redeem(
                member, reward, cashier=CASHIER, client_txn_id=self.next_txn()
            )
        except InsufficientPoints:
            assert self.service.ledger.balance(member) == before
            return multiple()
        assert before >= -result.points
        assert result.balance >= 0
        return result.entry_id

    @rule(entry=consumes(entries))
    def void(self, entry: str) -> None:
        try:
            self.service.void(
                entry,
                reason="test",
                cashier=CASHIER,
                client_txn_id=self.next_txn(),
                approved_by=MANAGER,  # a redemption's void needs one
            )
        except NotReversible:
            assert entry in self.voided
            return
        assert entry not in self.voided
        self.voided.add(entry)

    @rule(entry=entries)
    def void_again_is_refused(self, entry: str) -> None:
        if entry in self.voided:
            try:
                self.service.void(
                    entry,
                    reason="x",
                    cashier=CASHIER,
                    client_txn_id=self.next_txn(),
                    approved_by=MANAGER,
                )
            except NotReversible:
                return
            raise AssertionError("an entry was voided twice")

    @rule(member=members, points=st.integers(-300, 300).filter(bool))
    def adjust(self, member: str, points: int) -> None:
        with contextlib.suppress(InsufficientPoints):
            self.service.adjust(
                member, points, reason="test", actor=MANAGER, client_txn_id=self.next_txn()
            )

    @rule(days=st.integers(0, 90))
    def time_passes_and_points_expire(self, days: int) -> None:
        self.clock.advance(days=days, minutes=1)
        self.service.expire_due(actor=CLI)

    @rule(off=st.integers(-3, 3))
    def a_year_passes(self, off: int) -> None:
        # To about the anniversaries of joining (and the birthdays), a year on.
        self.clock.advance(days=365 + off)
        self.service.expire_due(actor=CLI)

    @rule(hours=st.integers(1, 30))
    def hours_pass(self, hours: int) -> None:
        # Into and out of the noon offer, across midnight.
        self.clock.advance(hours=hours)

    @rule(member=members)
    def replay_changes_nothing(self, member: str) -> None:
        if self.txn == 0:
            return
        rows = self.service.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        balance = self.service.ledger.balance(member)
        with contextlib.suppress(KioskError):
            self.service.earn(member, 1, cashier=CASHIER, client_txn_id="sm-1")
        assert self.service.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == rows
        assert self.service.ledger.balance(member) == balance

    @invariant()
    def books_balance(self) -> None:
        report = verify_ledger(self.service.conn)
        assert report.ok, report.problems

    @invariant()
    def yearly_bonuses_come_once_each_with_their_reason(self) -> None:
        conn = self.service.conn
        reasons = {r for (r,) in conn.execute("SELECT reason FROM entries WHERE kind = 'bonus'")}
        referrers = {r for r in reasons if r.startswith("referral:")}
        assert reasons - referrers <= BONUS_REASONS
        twice = conn.execute(
            "SELECT client_txn_id FROM entries WHERE kind = 'bonus' "
            "AND reason IN ('birthday', 'anniversary') GROUP BY 1 HAVING COUNT(*) > 1"
        ).fetchall()
        assert twice == []
        badges_twice = conn.execute(
            "SELECT member_id, reason FROM entries WHERE kind = 'bonus' "
            "AND reason LIKE 'badge:%' GROUP BY 1, 2 HAVING COUNT(*) > 1"
        ).fetchall()
        assert badges_twice == []  # the ledger is the memory: a badge is given once
        for member_id, joined, key in conn.execute(
            "SELECT m.member_id, m.created_at, e.client_txn_id FROM entries e "
            "JOIN members m USING (member_id) WHERE e.reason = 'anniversary'"
        ):
            # Never on the joining day: the first comes a year on.
            assert key.rsplit(":", 1)[1] > joined[:10], (member_id, joined, key)

    @invariant()
    def a_referral_pays_once_each_side_within_the_cap_and_a_void_takes_it_back(self) -> None:
        conn = self.service.conn
        for member_id, referrer_id, state, purchase in conn.execute(
            "SELECT member_id, referrer_id, state, purchase_id FROM referrals"
        ).fetchall():
            mine = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM entries "
                "WHERE member_id = ? AND kind = 'bonus' AND reason = 'referral'",
                (member_id,),
            ).fetchone()
            theirs = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM entries "
                "WHERE member_id = ? AND kind = 'bonus' AND reason = ?",
                (referrer_id, f"referral:{member_id}"),
            ).fetchone()
            taken = conn.execute(
                "SELECT COALESCE(SUM(-points), 0) FROM entries WHERE kind = 'adjust' "
                "AND reason = 'referral_void' AND client_txn_id IN (SELECT "
                "'referral_void:' || entry_id FROM entries WHERE kind = 'bonus' AND "
                "((member_id = ? AND reason = 'referral') OR (member_id = ? AND reason = ?)))",
                (member_id, referrer_id, f"referral:{member_id}"),
            ).fetchone()[0]
            assert mine[0] <= 1 and theirs[0] <= 1, (member_id, mine, theirs)
            paid = mine[0] + theirs[0] > 0
            assert paid == (state in ("paid", "voided")), (state, mine, theirs)
            if paid:
                assert (mine[1], theirs[1]) == (20, 40)
                amount = conn.execute(
                    "SELECT amount FROM entries WHERE entry_id = ?", (purchase,)
                ).fetchone()[0]
                assert amount >= 5_000_000  # only a qualifying purchase pays
                event("referral paid")
            if state == "voided":
                assert purchase in self.voided
                assert taken == 60, taken  # both sides taken back
                event("referral taken back")
            else:
                assert taken == 0, (state, taken)
            if state == "paid":
                assert purchase not in self.voided
        # The monthly cap: never more than two paid to one referrer in one month (the
        # program's calendar: the Jalali month here).
        months: Counter[tuple[str, date]] = Counter()
        for referrer_id, paid_at in conn.execute(
            "SELECT referrer_id, paid_at FROM referrals WHERE state = 'paid'"
        ):
            at = from_iso(paid_at)
            calendar = self.service.program.birthday_calendar
            months[(referrer_id, month_of(at, self.service.tz, calendar)[0])] += 1
        assert max(months.values(), default=0) <= 2, months

    @invariant()
    def an_earn_is_never_above_the_cap(self) -> None:
        cap = self.service.program.limits.max_points_per_purchase
        most = self.service.conn.execute(
            "SELECT COALESCE(MAX(points), 0) FROM entries WHERE kind = 'earn'"
        ).fetchone()[0]
        assert most <= cap

    @invariant()
    def tier_windows_add_up(self) -> None:
        # The daily totals plus the first day's entries give what a scan of history gives.
        conn = self.service.conn
        now = self.service.clock()
        for (member_id,) in conn.execute("SELECT member_id FROM members").fetchall():
            times = conn.execute(
                "SELECT created_at FROM entries WHERE member_id = ? AND kind = 'earn'",
                (member_id,),
            ).fetchall()
            cuts = [to_iso(now - timedelta(days=d, hours=7)) for d in (3, 40, 400)]
            # Cuts on the very days of purchases, before and after one: the partial day.
            for (at,) in times:
                cuts += [at, to_iso(from_iso(at) - timedelta(hours=1))]
                cuts += [to_iso(from_iso(at) + timedelta(microseconds=1))]
            for since in cuts:
                scanned = conn.execute(
                    "SELECT COALESCE(SUM(points), 0) FROM entries e WHERE member_id = ? "
                    "AND created_at >= ? AND kind = 'earn' AND NOT EXISTS "
                    "(SELECT 1 FROM entries r WHERE r.reverses = e.entry_id)",
                    (member_id, since),
                ).fetchone()[0]
                assert self.service.history.earned_since(member_id, since) == scanned


LedgerMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerStateMachine = LedgerMachine.TestCase
