"""Configuration in layers, validated into typed, frozen objects.

Layers, later wins: the shipped `defaults.toml`; one config file (`--config`, else
`KIOSK_CONFIG`, else `/etc/loyalty-kiosk/kiosk.toml` when it exists); `-o section.key=value`
overrides. Every problem is collected and reported at once, each with its key, the layer it
came from and, for unknown keys, the nearest known one.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import phonenumbers
import tomli_w

from kiosk.text.money import Unit

SYSTEM_CONFIG = Path("/etc/loyalty-kiosk/kiosk.toml")
DEVICE_DATA_DIR = Path("/var/lib/loyalty-kiosk")
SIMULATOR_DATA_DIR = Path("var")
# Written by provisioning (`kiosk provision`, the technician's screen) into the data
# directory, which the services may write (/etc is read-only to them): a layer over the
# config file holding only these keys.
PROVISIONED_FILENAME = "provisioned.toml"
PROVISIONED_KEYS = frozenset({("crm", "url"), ("crm", "ca_bundle"), ("shop", "name")})
SECRET_KEYS = frozenset({"crm.device_secret"})
MASK = "********"
READER_SCHEMES = ("nfc", "serial", "sim", "evdev")


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    simulated: bool


@dataclass(frozen=True)
class PathsConfig:
    data_dir: str


@dataclass(frozen=True)
class ShopConfig:
    name: str
    timezone: str
    phone_region: str
    currency: str
    default_language: str


@dataclass(frozen=True)
class MoneyConfig:
    entry_unit: Unit
    max_amount: int


@dataclass(frozen=True)
class StampsConfig:
    min_purchase: int
    stamps_per_visit: int
    stamps_for_reward: int


@dataclass(frozen=True)
class ExpiryConfig:
    enabled: bool
    days: int


@dataclass(frozen=True)
class LimitsConfig:
    max_points_per_purchase: int
    max_earns_per_day: int
    min_minutes_between_earns: int
    manager_approval_above: int


@dataclass(frozen=True)
class TierConfig:
    id: str
    name_fa: str
    name_en: str
    threshold: int
    multiplier: Decimal


@dataclass(frozen=True)
class RewardConfig:
    id: str
    name_fa: str
    name_en: str
    cost: int
    kind: str
    value: int
    active_from: date | None
    active_until: date | None


@dataclass(frozen=True)
class ProgramConfig:
    mode: str
    points: int
    per_amount: int
    min_purchase: int
    enrollment_bonus: int
    birthday_bonus: int
    birthday_calendar: str
    birthday_window_days: int
    tier_window_days: int
    offline_redemption_allowance: int
    stamps: StampsConfig
    expiry: ExpiryConfig
    limits: LimitsConfig
    tiers: tuple[TierConfig, ...]
    rewards: tuple[RewardConfig, ...]


@dataclass(frozen=True)
class SecurityConfig:
    pin_min_length: int
    pin_max_length: int
    pin_max_attempts: int
    pin_lockout_seconds: int
    pin_lockout_max_seconds: int
    pin_scrypt_n: int
    shift_timeout_minutes: int


@dataclass(frozen=True)
class CrmConfig:
    url: str
    secret_file: str
    device_secret: str
    ca_bundle: str
    batch_size: int
    push_interval_seconds: int
    backoff_base_seconds: int
    backoff_cap_seconds: int
    timeout_seconds: int
    pull_interval_seconds: int
    heartbeat_interval_seconds: int
    offline_after_minutes: int


@dataclass(frozen=True)
class ReadersConfig:
    urls: tuple[str, ...]
    debounce_ms: int
    feedback: str


@dataclass(frozen=True)
class UiConfig:
    fullscreen: bool
    show_cursor: bool
    width: int
    height: int
    persian_digits: bool
    idle_timeout_seconds: int
    result_seconds: int
    sounds: bool


@dataclass(frozen=True)
class KioskConfig:
    device: DeviceConfig
    paths: PathsConfig
    shop: ShopConfig
    money: MoneyConfig
    program: ProgramConfig
    security: SecurityConfig
    crm: CrmConfig
    readers: ReadersConfig
    ui: UiConfig
    # The layers that made this config, for `kiosk config show` and diagnostics.
    sources: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"  {self.key}: {self.message} (from {self.source})"


class ConfigError(Exception):
    """The configuration has problems; all of them are listed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- layering ---------------------------------------------------------------------------


def default_document() -> dict[str, Any]:
    """The shipped defaults as a TOML document."""
    text = resources.files("kiosk.config").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _merge(
    base: dict[str, Any],
    layer: Mapping[str, Any],
    schema: Mapping[str, Any],
    origins: dict[str, str],
    source: str,
    problems: list[Problem],
    prefix: str = "",
) -> None:
    """Merge `layer` into `base`; unknown keys (by the defaults' shape) become problems."""
    for key, value in layer.items():
        path = f"{prefix}{key}"
        if key not in schema:
            problems.append(Problem(path, "unknown key" + _suggest(key, schema), source))
            continue
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                problems.append(Problem(path, "must be a section (a table)", source))
                continue
            _merge(base[key], value, expected, origins, source, problems, f"{path}.")
        else:
            base[key] = value
            origins[path] = source


def _parse_override(text: str, source: str, problems: list[Problem]) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        problems.append(Problem(text, "an override is written section.key=value", source))
        return [], None
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except ValueError:  # TOMLDecodeError, or an integer of more than 4300 digits
        value = raw  # a bare word is taken as a string: -o shop.name=Corner
    return key.split("."), value


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        doc = {part: doc}
    return doc


def _config_file(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str], system_file: Path
) -> Path | None:
    if explicit:
        return Path(explicit)
    if environ.get("KIOSK_CONFIG"):
        return Path(environ["KIOSK_CONFIG"])
    return system_file if system_file.exists() else None


def load_config(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    system_file: Path = SYSTEM_CONFIG,
    data_dir: str | os.PathLike[str] | None = None,
) -> KioskConfig:
    """The effective configuration; raises ConfigError listing every problem.

    Layers, each over the one before: the shipped defaults, the config file, what
    provisioning wrote into the data directory (`data_dir`, else as `resolve_data_dir`
    finds it), then the `-o` overrides.
    """
    env = os.environ if environ is None else environ
    doc = default_document()
    schema = default_document()
    origins: dict[str, str] = {}
    problems: list[Problem] = []
    sources = ["defaults"]

    path = _config_file(config_file, env, system_file)
    if path is not None:
        source = str(path)
        try:
            layer = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(Problem("--config", f"the file {path} does not exist", source))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("--config", f"cannot read {path}: {exc}", source))
        except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
            problems.append(Problem("--config", f"not valid TOML: {exc}", source))
        else:
            _merge(doc, layer, schema, origins, source, problems)
            sources.append(source)

    override_layers: list[tuple[str, dict[str, Any]]] = []
    for text in overrides:
        source = f"-o {text.split('=', 1)[0].strip()}"
        key_path, value = _parse_override(text, source, problems)
        if key_path:
            override_layers.append((source, _nest(key_path, value)))

    # The data directory may come from an override (`--sim`, `-o paths.data_dir=...`).
    peek = copy.deepcopy(doc)
    for source, layer in override_layers:
        _merge(peek, layer, schema, {}, source, [])
    provisioned = _data_dir_of(peek, data_dir, env) / PROVISIONED_FILENAME
    try:
        there = provisioned.exists()
    except OSError as exc:  # a name too long, a loop of links: the data dir is unusable
        problems.append(Problem("paths.data_dir", f"cannot be used: {exc.strerror}", "data dir"))
        there = False
    if there:
        layer = _provisioned_layer(provisioned, problems)
        _merge(doc, layer, schema, origins, str(provisioned), problems)
        sources.append(str(provisioned))

    for source, layer in override_layers:
        _merge(doc, layer, schema, origins, source, problems)
    if overrides:
        sources.append("overrides")

    config = _build(doc, origins, problems)
    if problems or config is None:
        raise ConfigError(problems)
    return dataclasses.replace(config, sources=tuple(sources))


def _data_dir_of(
    doc: Mapping[str, Any], given: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> Path:
    """The data directory as `resolve_data_dir` will find it, from the document so far."""
    if given:
        return Path(given)
    if env.get("KIOSK_DATA_DIR"):
        return Path(env["KIOSK_DATA_DIR"])
    configured = doc.get("paths", {}).get("data_dir")
    if isinstance(configured, str) and configured:
        return Path(configured)
    return SIMULATOR_DATA_DIR if doc.get("device", {}).get("simulated") is True else DEVICE_DATA_DIR


def _provisioned_layer(path: Path, problems: list[Problem]) -> dict[str, Any]:
    """The provisioning layer, only its keys (anything else in it is a problem)."""
    source = str(path)
    try:
        layer = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and TOMLDecodeError too
        problems.append(Problem("provisioned", f"cannot read {path}: {exc}", source))
        return {}
    kept: dict[str, Any] = {}
    for section, values in layer.items():
        for key, value in values.items() if isinstance(values, dict) else [(None, values)]:
            if (section, key) in PROVISIONED_KEYS:
                kept.setdefault(section, {})[key] = value
            else:
                name = f"{section}.{key}" if key else section
                problems.append(Problem(name, "cannot be set by provisioning", source))
    return kept


# --- typed building and validation ------------------------------------------------------


class _Builder:
    def __init__(self, origins: Mapping[str, str], problems: list[Problem]) -> None:
        self.origins = origins
        self.problems = problems

    def problem(self, key: str, message: str) -> None:
        source = self.origins.get(key)
        if source is None:
            # An item of an array of tables: report the layer that set the array.
            head = key.split("[", 1)[0]
            source = self.origins.get(head, "defaults")
        self.problems.append(Problem(key, message, source))

    def build(self, cls: type[Any], data: Mapping[str, Any], prefix: str) -> Any:
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        ok = True
        for f in dataclasses.fields(cls):
            if not f.init or f.name == "sources":
                continue
            key = f"{prefix}{f.name}"
            if f.name not in data:
                self.problem(key, "is missing")
                ok = False
                continue
            value = self.convert(hints[f.name], data[f.name], key)
            if value is _BAD:
                ok = False
            values[f.name] = value
        for extra in set(data) - {f.name for f in dataclasses.fields(cls)}:
            names = [f.name for f in dataclasses.fields(cls)]
            self.problem(f"{prefix}{extra}", "unknown key" + _suggest(extra, names))
            ok = False
        return cls(**values) if ok else _BAD

    def convert(self, hint: Any, value: Any, key: str) -> Any:
        origin = typing.get_origin(hint)
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                self.problem(key, "must be a table")
                return _BAD
            return self.build(typing.cast(type[Any], hint), value, f"{key}.")
        if origin is tuple:
            (item_hint, _ellipsis) = typing.get_args(hint)
            if not isinstance(value, list):
                self.problem(key, "must be a list")
                return _BAD
            items = [self.convert(item_hint, v, f"{key}[{i}]") for i, v in enumerate(value)]
            return _BAD if any(i is _BAD for i in items) else tuple(items)
        if origin in (typing.Union, types.UnionType):  # date | None
            if value == "":
                return None
            if isinstance(value, date) and not isinstance(value, datetime):  # a day, not a time
                return value
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    pass
            self.problem(key, f"must be a date like 2026-03-21 or empty, not {value!r}")
            return _BAD
        if origin is typing.Literal:
            allowed = typing.get_args(hint)
            if value in allowed:
                return value
            choices = ", ".join(repr(a) for a in allowed)
            self.problem(
                key, f"must be one of {choices}, not {value!r}" + _suggest(str(value), allowed)
            )
            return _BAD
        if hint is bool:
            if isinstance(value, bool):
                return value
            self.problem(key, f"must be true or false, not {value!r}")
            return _BAD
        if hint is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self.problem(key, f"must be a whole number, not {value!r}")
            return _BAD
        if hint is Decimal:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                self.problem(
                    key, f'must be a decimal written as a string like "1.25", not {value!r}'
                )
                return _BAD
            try:
                return Decimal(str(value))
            except InvalidOperation:
                self.problem(key, f'must be a decimal like "1.25", not {value!r}')
                return _BAD
        if hint is str:
            if isinstance(value, str):
                return value
            self.problem(key, f"must be a string, not {value!r}")
            return _BAD
        raise TypeError(f"no converter for {hint!r}")  # pragma: no cover


_BAD: Any = object()


def _build(
    doc: Mapping[str, Any], origins: Mapping[str, str], problems: list[Problem]
) -> KioskConfig | None:
    builder = _Builder(origins, problems)
    config = builder.build(KioskConfig, doc, "")
    if config is _BAD:
        return None
    _validate(config, builder)
    return typing.cast(KioskConfig, config)


def _one_of(b: _Builder, key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        b.problem(key, f"must be one of {choices}, not {value!r}" + _suggest(value, allowed))


def _at_least(b: _Builder, key: str, value: int, low: int) -> None:
    if value < low:
        b.problem(key, f"must be at least {low}, not {value}")


def _validate(c: KioskConfig, b: _Builder) -> None:
    if c.shop.timezone not in zoneinfo.available_timezones():
        b.problem(
            "shop.timezone",
            f"unknown time zone {c.shop.timezone!r}"
            + _suggest(c.shop.timezone, zoneinfo.available_timezones()),
        )
    if c.shop.phone_region not in phonenumbers.SUPPORTED_REGIONS:
        b.problem("shop.phone_region", f"unknown phone region {c.shop.phone_region!r} (e.g. IR)")
    _one_of(b, "shop.default_language", c.shop.default_language, ("fa", "en"))
    _at_least(b, "money.max_amount", c.money.max_amount, 1)
    _at_least(b, "crm.batch_size", c.crm.batch_size, 1)
    if c.crm.batch_size > 1000:
        b.problem("crm.batch_size", "must be at most 1000 (the protocol's limit)")
    _at_least(b, "crm.push_interval_seconds", c.crm.push_interval_seconds, 1)
    _at_least(b, "crm.backoff_base_seconds", c.crm.backoff_base_seconds, 1)
    _at_least(b, "crm.backoff_cap_seconds", c.crm.backoff_cap_seconds, c.crm.backoff_base_seconds)
    _at_least(b, "crm.timeout_seconds", c.crm.timeout_seconds, 1)
    _at_least(b, "crm.pull_interval_seconds", c.crm.pull_interval_seconds, 1)
    _at_least(b, "crm.heartbeat_interval_seconds", c.crm.heartbeat_interval_seconds, 1)
    _at_least(b, "crm.offline_after_minutes", c.crm.offline_after_minutes, 1)
    _at_least(b, "ui.width", c.ui.width, 320)
    _at_least(b, "ui.height", c.ui.height, 240)
    _at_least(b, "ui.idle_timeout_seconds", c.ui.idle_timeout_seconds, 5)
    _at_least(b, "ui.result_seconds", c.ui.result_seconds, 1)

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
    _at_least(b, "security.shift_timeout_minutes", s.shift_timeout_minutes, 1)

    if c.crm.url and not c.crm.url.startswith(("https://", "http://")):
        b.problem("crm.url", "must start with https:// (or http:// on loopback)")
    _at_least(b, "readers.debounce_ms", c.readers.debounce_ms, 0)
    for i, url in enumerate(c.readers.urls):
        scheme = url.split(":", 1)[0]
        if ":" not in url or scheme not in READER_SCHEMES:
            b.problem(
                f"readers.urls[{i}]",
                f"{url!r} must start with one of " + ", ".join(f"{s}:" for s in READER_SCHEMES),
            )


def _unique(b: _Builder, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            b.problem(f"{key}[{i}].id", f"{ident!r} is used twice")
        seen.add(ident)


# --- output -----------------------------------------------------------------------------


def config_to_dict(config: KioskConfig, *, mask_secrets: bool = True) -> dict[str, Any]:
    """The config as plain TOML-able data (Decimal → string, None dates → "")."""

    def plain(value: Any, key: str) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: plain(getattr(value, f.name), f"{key}{f.name}")
                for f in dataclasses.fields(value)
                if f.name != "sources"
            }
        if isinstance(value, tuple):
            return [plain(v, key) for v in value]
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if value is None:
            return ""
        if mask_secrets and key in SECRET_KEYS and value:
            return MASK
        return value

    def walk(value: Any, prefix: str) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: walk(getattr(value, f.name), f"{prefix}{f.name}.")
                for f in dataclasses.fields(value)
                if f.name != "sources"
            }
        return plain(value, prefix.rstrip("."))

    return typing.cast(dict[str, Any], walk(config, ""))


def config_to_toml(config: KioskConfig, *, mask_secrets: bool = True) -> str:
    """The effective config as TOML, with the layers it came from as a comment."""
    header = "# effective configuration; layers: " + ", ".join(config.sources) + "\n"
    return header + tomli_w.dumps(config_to_dict(config, mask_secrets=mask_secrets))


def resolve_data_dir(
    config: KioskConfig,
    cli_value: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """--data-dir, else KIOSK_DATA_DIR, else paths.data_dir, else ./var (sim) or the device path."""
    env = os.environ if environ is None else environ
    if cli_value:
        return Path(cli_value)
    if env.get("KIOSK_DATA_DIR"):
        return Path(env["KIOSK_DATA_DIR"])
    if config.paths.data_dir:
        return Path(config.paths.data_dir)
    return SIMULATOR_DATA_DIR if config.device.simulated else DEVICE_DATA_DIR
