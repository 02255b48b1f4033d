"""A child process of the crash torture: the core service running a scripted store day.

Run as `python -m tests.torture.store_day DATA_DIR CONFIG SEED DAY STATE PACE_MS`. The
script (enrollments, purchases, redemptions, voids, look-ups by phone or card) is a pure
function of SEED: step `n` always asks the same thing, under the client transaction id
`DAY-n`. Each finished step is appended to the STATE file (a line per step; process death
keeps what `write` returned); a restart after a kill resumes after the last step there.
The step that was in flight when the process died is simply run again: if it had been
committed, the service answers as the first time (the idempotency under test). On every
start the last few acknowledged steps are also asked again, and must answer with the same
entry ids.

Lines on stdout, each flushed before the next step starts:

    begin N                     step N is about to call the service
    ack N new|old ENTRY_ID...   the service returned these entries (old: the step had been
                                committed before a kill, and answered as the first time)
    again N ENTRY_ID...         an acknowledged step asked again at a start answered the same
    refused N KEY               the service refused (not enough points, ...): nothing written
    skip N                      nothing to do (a void of a step that wrote nothing)
    look N                      a read-only look-up found the right member
    mismatch N                  a step asked again answered other entries, or a look-up
                                found another member (a failure)
    balance N                   after step N the member's balance as a shopper sees it (the
                                CRM's plus what it has not acknowledged) is not the ledger's
                                (a failure: this kiosk is the only one writing)

An `ack` line means the service returned, so the entries must survive any kill. Ids only:
phone numbers and card UIDs never reach stdout, stderr or the state file. PACE_MS is the
most a step waits before it starts (a cashier's rhythm, random from the seed).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig, load_config
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import SHOPPER, Actor
from kiosk.errors import InsufficientPoints, LimitReached, NotReversible
from tests.conftest import NO_SYSTEM_CONFIG

# Cheap PIN hashing and no purchase limits: the script buys often, for the same members.
OVERRIDES = (
    "security.pin_scrypt_n=1024",
    "program.limits.min_minutes_between_earns=0",
    "program.limits.max_earns_per_day=0",
)
CASHIER = Actor("s-torture", "cashier")
MANAGER = Actor("s-torture-manager", "manager")  # approves the void of a redemption
# Refusals a scripted step may meet: they write nothing, and the script goes on.
REFUSALS = (InsufficientPoints, LimitReached, NotReversible)
REASKED = 5  # acknowledged steps asked again at every start

Op = Literal["enroll", "earn", "redeem", "void", "look"]


@dataclass(frozen=True)
class Step:
    """One thing the counter does; `member` is an index into the members enrolled so far."""

    n: int
    op: Op
    member: int = 0
    amount: int = 0
    reward: str = ""
    target: int = -1  # for a void: the step whose entry is reversed
    by_card: bool = False


@dataclass
class Outcome:
    """What a step did: ack, refused, skip, look or mismatch, and the ids it produced."""

    kind: str
    member_id: str = "-"
    entry_ids: list[str] = field(default_factory=list)
    replayed: bool = False
    key: str = ""


def phone_of(seed: int, member: int) -> str:
    """The member's mobile number: 0912 and seven digits, distinct for every member."""
    return f"0912{(seed * 7919 + member) % 10_000_000:07d}"


def card_of(seed: int, member: int) -> str | None:
    """Every other member has a card."""
    if member % 2:
        return None
    return f"{(0xC0000000 + seed * 104_729 + member) % 0x1_0000_0000:08X}"


def script(seed: int, rewards: tuple[str, ...]) -> Iterator[Step]:
    """The day's steps, for ever; the same for the same seed."""
    rng = random.Random(f"store-day-{seed}")
    members = 0
    voidable: list[int] = []  # earn and redeem steps not yet voided
    n = 0
    while True:
        roll = rng.random()
        if members < 3 or roll < 0.08:
            step = Step(n, "enroll", member=members)
            members += 1
        elif roll < 0.60:
            amount = rng.randint(1, 400) * 50_000
            step = Step(n, "earn", member=rng.randrange(members), amount=amount)
            voidable.append(n)
        elif roll < 0.75:
            step = Step(n, "redeem", member=rng.randrange(members), reward=rng.choice(rewards))
            voidable.append(n)
        elif roll < 0.87 and voidable:
            step = Step(n, "void", target=voidable.pop(rng.randrange(len(voidable))))
        else:
            step = Step(n, "look", member=rng.randrange(members), by_card=rng.random() < 0.5)
        yield step
        n += 1


class StoreDay:
    """The script's state (members enrolled, entries written) and one step at a time."""

    def __init__(self, service: LoyaltyService, seed: int, day: str) -> None:
        self.service = service
        self.seed = seed
        self.day = day
        self.member_ids: dict[int, str] = {}
        self.written: dict[int, str] = {}  # earn and redeem steps -> their entry

    def remember(self, step: Step, outcome: Outcome) -> None:
        if outcome.kind != "ack":
            return
        if step.op == "enroll":
            self.member_ids[step.member] = outcome.member_id
        elif step.op in {"earn", "redeem"}:
            self.written[step.n] = outcome.entry_ids[0]

    def perform(self, step: Step) -> Outcome:
        try:
            return self._perform(step, f"{self.day}-{step.n}")
        except REFUSALS as error:
            return Outcome("refused", key=error.key)

    def _perform(self, step: Step, txn: str) -> Outcome:
        service = self.service
        if step.op == "enroll":
            enrolled = service.enroll(
                phone_of(self.seed, step.member),
                client_txn_id=txn,
                actor=SHOPPER,
                card=card_of(self.seed, step.member),
            )
            ids = [enrolled.bonus_entry_id] if enrolled.bonus_entry_id else []
            return Outcome("ack", enrolled.member_id, ids, enrolled.replayed)
        if step.op == "earn":
            member_id = self.member_ids[step.member]
            earned = service.earn(member_id, step.amount, cashier=CASHIER, client_txn_id=txn)
            ids = [earned.entry_id, *(bonus.entry_id for bonus in earned.bonuses)]
            return Outcome("ack", member_id, ids, earned.replayed)
        if step.op == "redeem":
            member_id = self.member_ids[step.member]
            redeemed = service.redeem(member_id, step.reward, cashier=CASHIER, client_txn_id=txn)
            return Outcome("ack", member_id, [redeemed.entry_id], redeemed.replayed)
        if step.op == "void":
            if step.target not in self.written:  # the step to void was refused
                return Outcome("skip")
            voided = service.void(
                self.written[step.target],
                reason="torture",
                cashier=CASHIER,
                client_txn_id=txn,
                approved_by=MANAGER,
            )
            return Outcome("ack", voided.member_id, [voided.entry_id], voided.replayed)
        card = card_of(self.seed, step.member)
        if step.by_card and card is not None:
            found = service.identify_card(card)
        else:
            found = service.identify_phone(phone_of(self.seed, step.member))
        if found.member_id != self.member_ids[step.member]:
            return Outcome("mismatch")
        return Outcome("look", found.member_id)


def load(config_file: Path, data_dir: Path) -> KioskConfig:
    """The store day's config: the kiosk's config file plus the overrides above."""
    return load_config(
        config_file, OVERRIDES, environ={}, system_file=NO_SYSTEM_CONFIG, data_dir=data_dir
    )


def read_state(path: Path) -> list[list[str]]:
    """The finished steps, one split line each (a last line without its newline is dropped)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="ascii")
    return [line.split() for line in text.split("\n")[:-1] if line]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    data_dir, config_file, seed, day = (
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        int(sys.argv[3]),
        sys.argv[4],
    )
    state_path, pace = Path(sys.argv[5]), float(sys.argv[6]) / 1000
    config = load(config_file, data_dir)
    service = Appliance(config, data_dir).open_service()
    store = StoreDay(service, seed, day)
    steps = script(seed, tuple(reward.id for reward in config.program.rewards))
    done = read_state(state_path)
    recent: deque[tuple[Step, list[str]]] = deque(maxlen=REASKED)
    for fields in done:  # n kind member_id entry_ids...
        step = next(steps)
        if int(fields[0]) != step.n:
            say(f"mismatch {step.n}")
            return
        outcome = Outcome(fields[1], fields[2], fields[3:])
        store.remember(step, outcome)
        if outcome.kind == "ack":
            recent.append((step, outcome.entry_ids))
    for step, ids in recent:  # asked again: the first answer, nothing written
        again = store.perform(step)
        same = again.kind == "ack" and again.replayed and again.entry_ids == ids
        say(f"again {step.n} {' '.join(again.entry_ids)}" if same else f"mismatch {step.n}")
    state = os.open(state_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    rng = random.Random(f"pace-{seed}-{len(done)}")
    for step in steps:
        time.sleep(rng.uniform(0, pace))  # the cashier's rhythm, not a wait for anything
        say(f"begin {step.n}")
        outcome = store.perform(step)
        store.remember(step, outcome)
        if outcome.kind == "ack":
            age = "old" if outcome.replayed else "new"
            say(f"ack {step.n} {age} {' '.join(outcome.entry_ids)}")
            local = service.ledger.balance(outcome.member_id)
            if service.effective_balance(outcome.member_id) != local:
                say(f"balance {step.n}")
        elif outcome.kind == "refused":
            say(f"refused {step.n} {outcome.key}")
        else:
            say(f"{outcome.kind} {step.n}")
        fields = [str(step.n), outcome.kind, outcome.member_id, *outcome.entry_ids]
        os.write(state, (" ".join(fields) + "\n").encode("ascii"))


if __name__ == "__main__":
    main()
