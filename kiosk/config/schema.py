"""The configuration's shape: the frozen dataclasses a loaded config is, and its constants.

`KioskConfig` holds one dataclass per section of `defaults.toml`; the converter
(`kiosk/config/convert.py`) builds them from the merged TOML by their type hints, so a
field added here is a key the config takes (with its default in `defaults.toml`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from kiosk.text.money import Unit

SYSTEM_CONFIG = Path("/etc/loyalty-kiosk/kiosk.toml")
DEVICE_DATA_DIR = Path("/var/lib/loyalty-kiosk")
SIMULATOR_DATA_DIR = Path("var")
# Written by provisioning (`kiosk provision`, the technician's screen) into the data
# directory, which the services may write (/etc is read-only to them): a layer over the
# config file holding only these keys.
PROVISIONED_FILENAME = "provisioned.toml"
PROVISIONED_KEYS = frozenset(
    {
        ("crm", "url"),
        ("crm", "ca_bundle"),
        ("crm", "owner_key"),
        ("crm", "chain_id"),
        ("shop", "name"),
    }
)
SECRET_KEYS = frozenset({"crm.device_secret"})
MASK = "********"
READER_SCHEMES = ("nfc", "serial", "sim", "evdev")


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    simulated: bool
    first_boot_setup: bool


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
    brand_colour: str
    logo: str


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
class OfferConfig:
    # A limited-time offer (docs/program.md, "Limited-time offers"): kiosk/core/offers.py.
    # Only the id is required: an empty condition means "any".
    id: str
    name_fa: str = ""
    name_en: str = ""
    multiplier: Decimal = Decimal(1)
    bonus: int = 0
    starts: date | None = None
    ends: date | None = None
    weekdays: tuple[str, ...] = ()
    from_time: str = "00:00"
    until_time: str = "24:00"
    branches: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    min_amount: int = 0


@dataclass(frozen=True)
class MilestoneConfig:
    # A badge at the member's Nth visit (a day with a purchase or a redemption).
    visits: int
    bonus: int


@dataclass(frozen=True)
class BadgesConfig:
    # Streaks and badges (docs/program.md, "Streaks and badges"): kiosk/core/badges.py.
    # Weeks run Saturday to Friday ("jalali") or Monday to Sunday ("iso").
    week: str = "jalali"
    streak_weeks: tuple[int, ...] = ()
    streak_bonus: int = 0
    milestones: tuple[MilestoneConfig, ...] = ()
    first_redemption_bonus: int = 0
    tier_bonus: int = 0


@dataclass(frozen=True)
class ReferralConfig:
    # Referrals (docs/program.md, "Referrals"): kiosk/core/referral.py. Off by default.
    enabled: bool = False
    referrer_bonus: int = 0
    referee_bonus: int = 0
    max_per_month: int = 0
    min_purchase: int = 0


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
    birthday_window_before_days: int
    anniversary_bonus: int
    anniversary_window_days: int
    show_member_count: bool
    tier_window_days: int
    offline_redemption_allowance: int
    stamps: StampsConfig
    expiry: ExpiryConfig
    limits: LimitsConfig
    tiers: tuple[TierConfig, ...]
    rewards: tuple[RewardConfig, ...]
    offers: tuple[OfferConfig, ...] = ()
    badges: BadgesConfig = BadgesConfig()
    referral: ReferralConfig = ReferralConfig()


@dataclass(frozen=True)
class SecurityConfig:
    pin_min_length: int
    pin_max_length: int
    pin_max_attempts: int
    pin_lockout_seconds: int
    pin_lockout_max_seconds: int
    pin_scrypt_n: int
    shift_timeout_minutes: int
    # Where the key that wraps the data key comes from: auto, otp, hub or file
    # (kiosk/appliance/keys.py).
    key_source: str
    # Where a key from the hub is cached: memory-backed, so a power cut forgets it.
    key_cache_dir: str


@dataclass(frozen=True)
class CrmConfig:
    url: str
    secret_file: str
    device_secret: str
    ca_bundle: str
    # The chain owner's Ed25519 public key (base64url) and the chain's id, from enrollment:
    # staff and program changes are applied only when signed by it.
    owner_key: str
    chain_id: str
    batch_size: int
    push_interval_seconds: int
    backoff_base_seconds: int
    backoff_cap_seconds: int
    timeout_seconds: int
    # How long a redemption waits for the CRM's hold before it falls back to the offline
    # allowance (docs/sync-protocol.md, "Holds").
    hold_timeout_seconds: int
    pull_interval_seconds: int
    heartbeat_interval_seconds: int
    offline_after_minutes: int


@dataclass(frozen=True)
class VerificationConfig:
    # A code sent to the phone before enrolling it, or linking a card to it
    # (kiosk/core/verification.py).
    enroll: bool
    link_card: bool


@dataclass(frozen=True)
class FeedbackConfig:
    # The shopper's rating of a visit after a purchase (kiosk/core/feedback.py), asked at
    # most once per member every `every_days` days; the chain's program wins once pulled.
    enabled: bool
    every_days: int


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
    verification: VerificationConfig
    readers: ReadersConfig
    ui: UiConfig
    feedback: FeedbackConfig
    # The layers that made this config, for `kiosk config show` and diagnostics.
    sources: tuple[str, ...] = field(default=(), compare=False)

    def reader_urls(self) -> list[str]:
        """The configured reader URLs; the simulated reader when none are set in simulator mode."""
        if self.readers.urls:
            return list(self.readers.urls)
        return ["sim:"] if self.device.simulated else []
