"""The cross-field rules a config must keep once every value has its type.

`_validate` runs after the converter (`kiosk/config/convert.py`) built a `KioskConfig`:
ranges, known time zones and phone regions, tiers that start at 0 and rise, rewards that
make sense, reader URLs of a known scheme. Each broken rule is one problem, reported through
the converter's `_Builder` with the layer that set the key.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING

import phonenumbers

from kiosk.config.badge_rules import badge_problems
from kiosk.config.crm_url import crm_url_problem
from kiosk.config.offer_rules import offer_problems
from kiosk.config.problems import suggest
from kiosk.config.schema import READER_SCHEMES, KioskConfig

if TYPE_CHECKING:  # the converter calls these rules: a type only, to import no cycle
    from kiosk.config.convert import _Builder


def _one_of(b: _Builder, key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        b.problem(key, f"must be one of {choices}, not {value!r}" + suggest(value, allowed))


# The longest a cashier's shift may stay open without use (security.shift_timeout_minutes).
SHIFT_TIMEOUT_MAX_MINUTES = 30


def _at_least(b: _Builder, key: str, value: int, low: int) -> None:
    if value < low:
        b.problem(key, f"must be at least {low}, not {value}")


def _validate(c: KioskConfig, b: _Builder) -> None:
    if c.shop.timezone not in zoneinfo.available_timezones():
        b.problem(
            "shop.timezone",
            f"unknown time zone {c.shop.timezone!r}"
            + suggest(c.shop.timezone, zoneinfo.available_timezones()),
        )
    if c.shop.phone_region not in phonenumbers.SUPPORTED_REGIONS:
        b.problem("shop.phone_region", f"unknown phone region {c.shop.phone_region!r} (e.g. IR)")
    _one_of(b, "shop.default_language", c.shop.default_language, ("fa", "en"))
    _brand(c, b)
    _at_least(b, "money.max_amount", c.money.max_amount, 1)
    _at_least(b, "crm.batch_size", c.crm.batch_size, 1)
    if c.crm.batch_size > 1000:
        b.problem("crm.batch_size", "must be at most 1000 (the protocol's limit)")
    _at_least(b, "crm.push_interval_seconds", c.crm.push_interval_seconds, 1)
    _at_least(b, "crm.backoff_base_seconds", c.crm.backoff_base_seconds, 1)
    _at_least(b, "crm.backoff_cap_seconds", c.crm.backoff_cap_seconds, c.crm.backoff_base_seconds)
    _at_least(b, "crm.timeout_seconds", c.crm.timeout_seconds, 1)
    _at_least(b, "crm.hold_timeout_seconds", c.crm.hold_timeout_seconds, 1)
    if c.crm.hold_timeout_seconds > 30:
        b.problem("crm.hold_timeout_seconds", "must be at most 30 (a shopper is waiting)")
    _at_least(b, "crm.pull_interval_seconds", c.crm.pull_interval_seconds, 1)
    _at_least(b, "crm.heartbeat_interval_seconds", c.crm.heartbeat_interval_seconds, 1)
    _at_least(b, "crm.offline_after_minutes", c.crm.offline_after_minutes, 1)
    _at_least(b, "ui.width", c.ui.width, 320)
    _at_least(b, "ui.height", c.ui.height, 240)
    _at_least(b, "ui.idle_timeout_seconds", c.ui.idle_timeout_seconds, 5)
    _at_least(b, "ui.result_seconds", c.ui.result_seconds, 1)
    _at_least(b, "feedback.every_days", c.feedback.every_days, 1)

    p = c.program
    _one_of(b, "program.mode", p.mode, ("points", "stamps"))
    _one_of(b, "program.birthday_calendar", p.birthday_calendar, ("jalali", "gregorian"))
    _at_least(b, "program.points", p.points, 1)
    _at_least(b, "program.per_amount", p.per_amount, 1)
    for name in ("min_purchase", "enrollment_bonus", "birthday_bonus", "birthday_window_days"):
        _at_least(b, f"program.{name}", getattr(p, name), 0)
    _at_least(b, "program.offline_redemption_allowance", p.offline_redemption_allowance, 0)
    _at_least(b, "program.tier_window_days", p.tier_window_days, 1)
    _at_least(b, "program.stamps.min_purchase", p.stamps.min_purchase, 0)
    _at_least(b, "program.stamps.stamps_per_visit", p.stamps.stamps_per_visit, 1)
    _at_least(b, "program.stamps.stamps_for_reward", p.stamps.stamps_for_reward, 1)
    _at_least(b, "program.expiry.days", p.expiry.days, 1)
    _at_least(b, "program.limits.max_points_per_purchase", p.limits.max_points_per_purchase, 1)
    _at_least(b, "program.limits.max_earns_per_day", p.limits.max_earns_per_day, 0)
    _at_least(b, "program.limits.min_minutes_between_earns", p.limits.min_minutes_between_earns, 0)
    _at_least(b, "program.limits.manager_approval_above", p.limits.manager_approval_above, 1)

    if not p.tiers:
        b.problem("program.tiers", "at least one tier is needed (threshold 0)")
    elif p.tiers[0].threshold != 0:
        b.problem("program.tiers[0].threshold", "the first tier must start at 0")
    for i, (lower, upper) in enumerate(zip(p.tiers, p.tiers[1:], strict=False), start=1):
        if upper.threshold <= lower.threshold:
            b.problem(f"program.tiers[{i}].threshold", "thresholds must rise from tier to tier")
    for i, tier in enumerate(p.tiers):
        if not tier.multiplier.is_finite() or tier.multiplier < 1:
            b.problem(f"program.tiers[{i}].multiplier", "must be a decimal of at least 1")
    _unique(b, "program.tiers", [t.id for t in p.tiers])

    for i, reward in enumerate(p.rewards):
        key = f"program.rewards[{i}]"
        _one_of(b, f"{key}.kind", reward.kind, ("fixed_discount", "percent_discount", "free_item"))
        _at_least(b, f"{key}.cost", reward.cost, 1)
        if reward.kind == "percent_discount" and not 1 <= reward.value <= 100:
            b.problem(f"{key}.value", "a percent discount is between 1 and 100")
        if reward.kind == "fixed_discount":
            _at_least(b, f"{key}.value", reward.value, 1)
        if reward.active_from and reward.active_until and reward.active_from > reward.active_until:
            b.problem(f"{key}.active_until", "ends before it starts")
        if not reward.id:
            b.problem(f"{key}.id", "must not be empty")
    _unique(b, "program.rewards", [r.id for r in p.rewards])
    for name in ("birthday_window_before_days", "anniversary_bonus"):
        _at_least(b, f"program.{name}", getattr(p, name), 0)
    _at_least(b, "program.anniversary_window_days", p.anniversary_window_days, 1)
    for i, offer in enumerate(p.offers):
        for key, wrong in offer_problems(offer, {t.id for t in p.tiers}):
            b.problem(f"program.offers[{i}].{key}", wrong)
    _unique(b, "program.offers", [o.id for o in p.offers])
    for key, wrong in badge_problems(p.badges):
        b.problem(f"program.badges.{key}", wrong)
    for name in ("referrer_bonus", "referee_bonus", "max_per_month", "min_purchase"):
        _at_least(b, f"program.referral.{name}", getattr(p.referral, name), 0)

    s = c.security
    _at_least(b, "security.pin_min_length", s.pin_min_length, 4)
    if s.pin_max_length < s.pin_min_length:
        b.problem("security.pin_max_length", "must not be below security.pin_min_length")
    _at_least(b, "security.pin_max_attempts", s.pin_max_attempts, 1)
    _at_least(b, "security.pin_lockout_seconds", s.pin_lockout_seconds, 1)
    if s.pin_lockout_max_seconds < s.pin_lockout_seconds:
        b.problem("security.pin_lockout_max_seconds", "must not be below pin_lockout_seconds")
    n = s.pin_scrypt_n
    if n < 1024 or n & (n - 1):
        b.problem("security.pin_scrypt_n", f"must be a power of two of at least 1024, not {n}")
    # A shift left open is a till anyone at the counter can credit: minutes, never hours.
    _one_of(b, "security.key_source", s.key_source, ("auto", "otp", "hub", "file"))
    if not 1 <= s.shift_timeout_minutes <= SHIFT_TIMEOUT_MAX_MINUTES:
        b.problem(
            "security.shift_timeout_minutes",
            f"must be 1 to {SHIFT_TIMEOUT_MAX_MINUTES} minutes, not {s.shift_timeout_minutes}",
        )

    if s.key_source == "hub" and not c.crm.url:
        b.problem("security.key_source", "'hub' needs crm.url (the club server keeps the key)")
    if c.crm.url and (problem := crm_url_problem(c.crm.url)):
        b.problem("crm.url", problem)
    _owner_key(c, b)
    _at_least(b, "readers.debounce_ms", c.readers.debounce_ms, 0)
    for i, url in enumerate(c.readers.urls):
        scheme = url.split(":", 1)[0]
        if ":" not in url or scheme not in READER_SCHEMES:
            b.problem(
                f"readers.urls[{i}]",
                f"{url!r} must start with one of " + ", ".join(f"{s}:" for s in READER_SCHEMES),
            )


_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _brand(c: KioskConfig, b: _Builder) -> None:
    colour, logo = c.shop.brand_colour, c.shop.logo
    if not _HEX_COLOUR.fullmatch(colour):
        b.problem(
            "shop.brand_colour",
            f"must be a colour written as #rrggbb (e.g. #1f6feb), not {colour!r}",
        )
    if not logo:
        return
    path = Path(logo)
    try:
        with path.open("rb") as file:
            start = file.read(len(_PNG_SIGNATURE))
    except IsADirectoryError:
        b.problem("shop.logo", f"{logo!r} is a folder: name the logo's PNG file")
        return
    except FileNotFoundError:
        b.problem("shop.logo", f'{logo!r} does not exist: copy the PNG file there, or set ""')
        return
    except OSError as error:
        b.problem("shop.logo", f"{logo!r} cannot be read ({error.strerror}): check its rights")
        return
    if start != _PNG_SIGNATURE:
        b.problem("shop.logo", f"{logo!r} is not a PNG image: save the logo as PNG")


# As sync/owner_key.py reads them (the config may not import sync).
_OWNER_KEY = re.compile(r"[A-Za-z0-9_-]{43}=?")
_CHAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _owner_key(c: KioskConfig, b: _Builder) -> None:
    key, chain = c.crm.owner_key, c.crm.chain_id
    if key and not _OWNER_KEY.fullmatch(key):
        b.problem("crm.owner_key", "must be an Ed25519 public key: 32 bytes in base64url")
    if chain and not _CHAIN_ID.fullmatch(chain):
        b.problem("crm.chain_id", "must be 1 to 64 letters, digits, '.', '_' or '-'")
    if bool(key) != bool(chain):
        b.problem(
            "crm.chain_id" if key else "crm.owner_key",
            "goes with the other: set crm.owner_key and crm.chain_id both, or neither",
        )


def _unique(b: _Builder, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            b.problem(f"{key}[{i}].id", f"{ident!r} is used twice")
        seen.add(ident)
