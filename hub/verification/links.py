"""A card linked to an existing member's phone: taken only with a code sent to that phone.

The hole it closes: someone taps their own new card at a counter, types another's phone,
and the card is linked to that person's account (then spends their points). When the
chain requires it (HUB_VERIFY_LINK_CARD=1 in the hub's environment), a pushed record that
adds an active card to a member the hub holds (or to the member an enrollment is merged
into) keeps that card only when

- the device had a code for this phone and card typed right (hub/verification/proofs.py),
  or the record carries that proof; or
- the record says a cashier approved it while the hub could not be reached
  (`verification: [{"card", "approved_by", "reason"}]`): taken, and flagged
  `card_link_approved` for the owner, since a dishonest cashier could say so too.

Otherwise the card is dropped from the record and `card_link_unverified` is flagged; the
rest of the record is taken. The `verification` attachment never reaches the feed.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from hub.devices.models import Device
from hub.flags.flags import Raised
from hub.formats import is_text
from hub.members.models import Card
from hub.verification import proofs


def required() -> bool:
    """Whether the chain requires a code to link a card to an existing member.

    Off unless HUB_VERIFY_LINK_CARD=1: the kiosks verify by default (`verification.link_card`)
    but a kiosk from before issue 17 does not, and its links would be dropped; the owner
    turns it on once every kiosk of the chain is updated. The program's own setting
    (per chain, signed) is to come: the program refuses fields it does not know yet.
    """
    return os.environ.get("HUB_VERIFY_LINK_CARD") == "1"


def take(device: Device, record: dict[str, Any], owner: str | None, now: datetime) -> list[Raised]:
    """Drop from a decided record (in place) the new cards linked without proof; the flags.

    `owner` is the member the record's cards go to when the hub holds them already (the
    record's own member, or the one it is merged into); None for a new member.
    """
    attached = attachments(record)
    if owner is None or record.get("status") != "active" or not record.get("cards"):
        return []
    cards = {str(card["uid"]): str(card["status"]) for card in record["cards"]}
    kept, flags = proven_cards(
        device, str(record["member_id"]), owner, str(record["phone"]), cards, attached, now
    )
    record["cards"] = [{"uid": uid, "status": status} for uid, status in kept.items()]
    return flags


def attachments(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The record's `verification` attachments by card (taken out of the record)."""
    given = record.pop("verification", None)
    if not isinstance(given, list):
        return {}
    return {
        str(item["card"]): item
        for item in given
        if isinstance(item, dict) and is_text(item.get("card"))
    }


def proven_cards(
    device: Device,
    member_id: str,
    owner: str,
    phone: str,
    cards: dict[str, str],
    attached: dict[str, dict[str, Any]],
    now: datetime,
) -> tuple[dict[str, str], list[Raised]]:
    """The record's cards the hub takes for `owner` (who holds `phone`), and the flags."""
    if not required():
        return cards, []
    new = [uid for uid, status in cards.items() if status == "active"]
    if not new:
        return cards, []
    held = set(Card.objects.filter(member_id=owner, uid__in=new).values_list("uid", flat=True))
    kept = dict(cards)
    flags: list[Raised] = []
    for uid in new:
        if uid in held:
            continue
        item = attached.get(uid, {})
        proof = item.get("proof") if is_text(item.get("proof")) else None
        if proofs.take_for_link(device, phone, uid, now, proof):
            continue
        approver = item.get("approved_by")
        if is_text(approver) and approver:
            reason = item.get("reason") if is_text(item.get("reason")) else None
            flags.append(
                Raised(
                    "card_link_approved",
                    member_id,
                    detail={"member": owner, "approved_by": approver, "reason": reason},
                )
            )
            continue
        del kept[uid]
        flags.append(Raised("card_link_unverified", member_id, detail={"member": owner}))
    return kept, flags
