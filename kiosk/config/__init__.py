"""Configuration in layers, validated into typed, frozen objects.

Layers, later wins: the shipped `defaults.toml`; one config file (`--config`, else
`KIOSK_CONFIG`, else `/etc/loyalty-kiosk/kiosk.toml` when it exists); what provisioning wrote
into the data directory; `-o section.key=value` overrides. Every problem is collected and
reported at once, each with its key, the layer it came from and, for unknown keys, the
nearest known one.

Which module owns what (import the names from `kiosk.config`):

- `schema.py`: the frozen dataclasses (`DeviceConfig` ... `KioskConfig`) and the constants
  (paths, provisioned and secret keys, reader schemes).
- `loading.py`: the layers (`default_document`, `load_config`, `_parse_override`,
  `_provisioned_layer`), `resolve_data_dir`, and `config_to_dict`/`config_to_toml` with the
  secrets masked.
- `convert.py`: the typed converter (`_Builder`, `_build`) from TOML to the dataclasses, and
  why it is not a typed-settings library.
- `rules.py`: the cross-field rules (`_validate`), run once every value has its type.
- `problems.py`: `Problem`, `ConfigError` and the "did you mean" hint.
- `crm_url.py`: the one rule for the CRM's address (https, or plain http on loopback),
  asked by `rules.py`, `kiosk sync enroll` (through the config) and provisioning.
"""

from __future__ import annotations

from kiosk.config.loading import (
    config_to_dict,
    config_to_toml,
    default_document,
    load_config,
    resolve_data_dir,
)
from kiosk.config.problems import ConfigError, Problem
from kiosk.config.schema import (
    DEVICE_DATA_DIR,
    MASK,
    PROVISIONED_FILENAME,
    PROVISIONED_KEYS,
    READER_SCHEMES,
    SECRET_KEYS,
    SIMULATOR_DATA_DIR,
    SYSTEM_CONFIG,
    CrmConfig,
    DeviceConfig,
    ExpiryConfig,
    KioskConfig,
    LimitsConfig,
    MoneyConfig,
    PathsConfig,
    ProgramConfig,
    ReadersConfig,
    RewardConfig,
    SecurityConfig,
    ShopConfig,
    StampsConfig,
    TierConfig,
    UiConfig,
    VerificationConfig,
)

__all__ = [
    "DEVICE_DATA_DIR",
    "MASK",
    "PROVISIONED_FILENAME",
    "PROVISIONED_KEYS",
    "READER_SCHEMES",
    "SECRET_KEYS",
    "SIMULATOR_DATA_DIR",
    "SYSTEM_CONFIG",
    "ConfigError",
    "CrmConfig",
    "DeviceConfig",
    "ExpiryConfig",
    "KioskConfig",
    "LimitsConfig",
    "MoneyConfig",
    "PathsConfig",
    "Problem",
    "ProgramConfig",
    "ReadersConfig",
    "RewardConfig",
    "SecurityConfig",
    "ShopConfig",
    "StampsConfig",
    "TierConfig",
    "UiConfig",
    "VerificationConfig",
    "config_to_dict",
    "config_to_toml",
    "default_document",
    "load_config",
    "resolve_data_dir",
]
