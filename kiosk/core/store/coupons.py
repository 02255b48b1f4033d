"""Coupons: the code a redemption hands out, and whether it still stands.

A coupon is its `redeem` entry's `coupon_code`; voiding the redemption (a `reversal`
entry, at most one per entry: `reverses` is UNIQUE) makes the coupon void. Nothing is
updated: the ledger is append-only, so the void is read from the reversal.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Coupon:
    """A coupon as issued, and whether its redemption was voided (then it is worth nothing)."""

    code: str
    entry_id: str
    member_id: str
    reward_id: str | None
    issued_at: str
    void: bool
    voided_at: str | None


class Coupons:
    """Coupons read from the ledger of one database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def find(self, code: str) -> Coupon | None:
        """The coupon with this code (any case, spaces ignored), or None."""
        wanted = "".join(code.split()).upper()
        if not wanted:
            return None
        row = self.conn.execute(
            "SELECT e.entry_id, e.member_id, e.reward_id, e.created_at, e.coupon_code, "
            "r.created_at AS voided_at FROM entries e "
            "LEFT JOIN entries r ON r.reverses = e.entry_id "
            "WHERE e.kind = 'redeem' AND e.coupon_code = ? ORDER BY e.created_at DESC LIMIT 1",
            (wanted,),
        ).fetchone()
        if row is None:
            return None
        return Coupon(
            code=row["coupon_code"],
            entry_id=row["entry_id"],
            member_id=row["member_id"],
            reward_id=row["reward_id"],
            issued_at=row["created_at"],
            void=row["voided_at"] is not None,
            voided_at=row["voided_at"],
        )
