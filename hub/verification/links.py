"""A card linked to an existing member's phone, or a phone enrolled: taken only with a code.

The holes it closes: someone taps their own new card at a counter, types another's phone,
and the card is linked to that person's account (then spends their points); someone
enrolls numbers that are not theirs. The chain decides in its signed program
(`verification: {"link_card": true, "enroll": false}` by default, hub/program/rules.py),
the one setting the hub and every kiosk read: a kiosk's own config cannot switch it off
here. A program that says nothing asks as the default does.

With `link_card` on, a pushed record that adds an active card to a member the hub holds
(or to the member an enrollment is merged into) keeps that card only when

- the device had a code for this phone and card typed right (hub/verification/proofs.py),
  or the record carries that proof; or
- the record says a cashier approved it while the hub could not be reached
  (`verification: [{"card", "approved_by", "reason"}]`): taken, and flagged
  `card_link_approved` for the owner, since a dishonest cashier could say so too.

Otherwise the card is dropped from the record and `card_link_unverified` is flagged; the
rest of the record is taken.

With `enroll` on, a record that makes a new member is taken whole only with this device's
enrollment code for the phone typed right (or its proof attached), or a cashier's approval
(`{"purpose": "enroll", "approved_by", "reason"}`, or a card's approval made at the
enrollment), flagged `enroll_approved`. Otherwise the member is held as the link is: kept
(its entries stay the hub's to judge) without its cards and without marketing consent (no
marketing SMS to a phone whose owner never answered), flagged `enroll_unverified`. The
`verification` attachment never reaches the feed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.devices.models import Device
from hub.flags.flags import Raised
from hub.formats import is_text
from hub.members.models import Card
from hub.program import publish
from hub.program.rules import verification_of
from hub.verification import proofs

Asked = dict[str, bool]


def asked() -> Asked:
    """Whether the chain asks for a code to link a card, to enroll: the program in force's."""
    current = publish.current()
    return verification_of(current.data if current is not None else None)


def take(
    device: Device,
    record: dict[str, Any],
    owner: str | None,
    now: datetime,
    rules: Asked | None = None,
) -> list[Raised]:
    """Drop from a decided record (in place) what was linked or enrolled without proof; the
    flags.

    `owner` is the member the record's cards go to when the hub holds them already (the
    record's own member, or the one it is merged into); None for a new member. `rules`:
    `asked()`, read once for a push.
    """
    items = attachments(record)
    if record.get("status") != "active":
        return []
    rules = rules if rules is not None else asked()
    if owner is None:
        return _enrolled(device, record, items, now) if rules["enroll"] else []
    if not rules["link_card"] or not record.get("cards"):
        return []
    cards = {str(card["uid"]): str(card["status"]) for card in record["cards"]}
    by_card = {str(item["card"]): item for item in items if is_text(item.get("card"))}
    kept, flags = proven_cards(
        device, str(record["member_id"]), owner, str(record["phone"]), cards, by_card, now
    )
    record["cards"] = [{"uid": uid, "status": status} for uid, status in kept.items()]
    return flags


def attachments(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's `verification` attachments (taken out of the record)."""
    given = record.pop("verification", None)
    if not isinstance(given, list):
        return []
    return [item for item in given if isinstance(item, dict)]


def _enrolled(
    device: Device, record: dict[str, Any], items: list[dict[str, Any]], now: datetime
) -> list[Raised]:
    """A new member's record: whole with a proof or an approval, else held (see above)."""
    member_id, phone = str(record["member_id"]), str(record["phone"])
    for item in items:
        proof = item.get("proof")
        card = item.get("card") if is_text(item.get("card")) else None
        if is_text(proof) and proofs.take_for_enroll(device, phone, now, proof, card):
            return []
    if proofs.take_for_enroll(device, phone, now):
        return []
    for item in items:
        approver = item.get("approved_by")
        if is_text(approver) and approver:
            reason = item.get("reason") if is_text(item.get("reason")) else None
            detail = {"approved_by": approver, "reason": reason}
            return [Raised("enroll_approved", member_id, detail=detail)]
    record["cards"] = [card for card in record.get("cards") or [] if card["status"] != "active"]
    record.update(consent_marketing=False, consent_version=None, consent_at=None)
    return [Raised("enroll_unverified", member_id)]


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
