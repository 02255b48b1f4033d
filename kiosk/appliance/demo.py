"""A console stand-in for the touch app: the counter's flows on the real service, typed.

`make run` opens this until the Kivy app lands. Type a phone number or `card UID` to
identify, then an amount to earn, `redeem REWARD`, `void ENTRY_ID`, or `quit`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TextIO

from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.core.summary import member_summary
from kiosk.errors import KioskError, UnknownCard, UnknownMember
from kiosk.text.digits import to_ascii_digits
from kiosk.text.money import parse_amount

HELP = """\
  PHONE            identify (or enroll) a member by mobile number
  card UID         identify by card
  NUMBER           with a member shown: record a purchase of NUMBER (in the entry unit)
  redeem REWARD    with a member shown: redeem a reward
  void ENTRY_ID    void a purchase or redemption
  quit"""


def run_console_demo(service: LoyaltyService, stdin: Iterable[str], stdout: TextIO) -> int:
    """Run the typed counter loop until `quit` or end of input (lines typed or tapped)."""
    unit = service.config.money.entry_unit
    member_id: str | None = None
    print(
        f"{service.config.shop.name}: loyalty kiosk (console demo, amounts in {unit})", file=stdout
    )
    print(HELP, file=stdout, flush=True)
    for raw in stdin:
        line = to_ascii_digits(raw.strip())
        txn = f"demo-{uuid.uuid4()}"
        try:
            if line in {"quit", "exit"}:
                break
            if line.startswith("card "):
                member_id = _identify(service, stdout, card=line[5:])
            elif line.startswith("redeem ") and member_id:
                result = service.redeem(member_id, line[7:].strip(), cashier=CLI, client_txn_id=txn)
                print(f"coupon {result.coupon_code}; balance {result.balance}", file=stdout)
            elif line.startswith("void "):
                done = service.void(line[5:].strip(), reason="demo", cashier=CLI, client_txn_id=txn)
                print(f"voided; balance {done.balance}", file=stdout)
            elif member_id and line.replace(",", "").isdigit() and len(line) < 9:
                amount = parse_amount(line, unit)
                earned = service.earn(member_id, amount, cashier=CLI, client_txn_id=txn)
                print(f"+{earned.points} points; balance {earned.balance}", file=stdout)
            elif line:
                member_id = _identify(service, stdout, phone=line)
        except KioskError as exc:
            print(f"! {exc}", file=stdout)
    return 0


def _identify(
    service: LoyaltyService, stdout: TextIO, *, phone: str | None = None, card: str | None = None
) -> str | None:
    try:
        member = service.identify_phone(phone) if phone else service.identify_card(card or "")
    except (UnknownMember, UnknownCard):
        if phone is None:
            print("! unknown card: type the phone number to enroll", file=stdout)
            return None
        result = service.enroll(phone, client_txn_id=f"demo-{uuid.uuid4()}")
        print(f"welcome! enrolled with {result.bonus_points} bonus points", file=stdout)
        member = service.member(result.member_id)
    summary = member_summary(service, member.member_id)
    print(
        f"{summary.phone_masked}: {summary.balance} points, tier {summary.tier_name_en}",
        file=stdout,
    )
    return member.member_id
