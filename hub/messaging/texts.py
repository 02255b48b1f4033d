"""The messages' wording: defaults shipped in Persian and English, a chain's own per kind.

Placeholders are `{name}` style; each kind allows its own set, checked when a chain saves
its wording, so a typo is refused then rather than at a 100,000-member campaign. Marketing
kinds must carry `{stop}` (the opt-out link) and offer the reply word.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from django.utils import timezone

from hub.errors import HubError
from hub.messaging.models import Template

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "receipt": frozenset({"shop", "name", "points", "balance"}),
    "redeem": frozenset({"shop", "name", "points", "balance", "reward"}),
    "verification": frozenset({"shop", "code", "minutes"}),
    "birthday": frozenset({"shop", "name", "reward", "until", "stop"}),
    "winback": frozenset({"shop", "name", "days", "stop"}),
    "campaign": frozenset({"shop", "name", "text", "stop"}),
}
MARKETING = frozenset({"birthday", "winback", "campaign"})

DEFAULTS: dict[tuple[str, str], str] = {
    ("receipt", "fa"): "{shop}\n{points} امتیاز گرفتید. امتیاز شما: {balance}",
    ("receipt", "en"): "{shop}\nYou earned {points} points. Your points: {balance}",
    ("redeem", "fa"): "{shop}\n{reward} با {points} امتیاز. امتیاز مانده: {balance}",
    ("redeem", "en"): "{shop}\n{reward} for {points} points. Points left: {balance}",
    ("verification", "fa"): "کد تأیید {shop}: {code}\nتا {minutes} دقیقه معتبر است.",
    ("verification", "en"): "{shop} code: {code}\nValid for {minutes} minutes.",
    (
        "birthday",
        "fa",
    ): "{name} عزیز، تولدتان مبارک!\nهدیهٔ {shop}: {reward} تا {until}\nلغو: 11 {stop}",
    (
        "birthday",
        "en",
    ): "Happy birthday, {name}!\nYour gift at {shop}: {reward} until {until}\nSTOP: {stop}",
    ("winback", "fa"): "{name} عزیز، {days} روز است شما را در {shop} ندیده‌ایم.\nلغو: 11 {stop}",
    ("winback", "en"): "{name}, we have missed you at {shop} for {days} days.\nSTOP: {stop}",
    ("campaign", "fa"): "{shop}\n{text}\nلغو: 11 {stop}",
    ("campaign", "en"): "{shop}\n{text}\nSTOP: {stop}",
}


def fields(body: str) -> set[str]:
    """The placeholders a text uses; HubError if its braces are malformed."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
    except ValueError as exc:
        raise HubError(f"the text's braces are not closed: {exc}") from None


def save(kind: str, language: str, body: str) -> Template:
    """The chain's own wording of `kind` in `language`, after checking its placeholders."""
    allowed = PLACEHOLDERS.get(kind)
    if allowed is None or language not in ("fa", "en"):
        raise HubError(f"no message kind {kind!r} in {language!r}")
    used = fields(body)
    unknown = used - allowed
    if unknown:
        raise HubError(
            f"unknown placeholders {', '.join(sorted(unknown))}; "
            f"{kind} may use {', '.join(sorted(allowed))}"
        )
    if kind in MARKETING and "stop" not in used:
        raise HubError("a marketing text must carry the opt-out link, {stop}")
    found, _ = Template.objects.update_or_create(
        kind=kind, language=language, defaults={"body": body, "updated_at": timezone.now()}
    )
    return found


def wording(kind: str, language: str) -> str:
    """The chain's wording of `kind` in `language`, or the shipped default."""
    own = Template.objects.filter(kind=kind, language=language).values_list("body", flat=True)
    for body in own:
        return body
    return DEFAULTS[(kind, language)]


def render(body: str, values: Mapping[str, object]) -> str:
    """The text with its placeholders filled; HubError naming a value that is missing."""
    missing = fields(body) - set(values)
    if missing:
        raise HubError(f"no value for {', '.join(sorted(missing))}")
    return body.format_map(dict(values)).strip()
