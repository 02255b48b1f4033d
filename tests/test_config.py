"""Configuration: layers, typed values, every problem reported at once with a hint."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.config import (
    DEVICE_DATA_DIR,
    ConfigError,
    config_to_dict,
    config_to_toml,
    load_config,
    resolve_data_dir,
)
from tests.conftest import NO_SYSTEM_CONFIG, make_config


def load(*overrides: str, file: Path | None = None, environ: dict[str, str] | None = None):
    return load_config(file, overrides, environ=environ or {}, system_file=NO_SYSTEM_CONFIG)


def problems(*overrides: str, file: Path | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load(*overrides, file=file)
    return {p.key: p.message for p in caught.value.problems}


def test_shipped_defaults_are_typed():
    config = load()

    assert config.shop.phone_region == "IR"
    assert config.money.entry_unit == "toman"
    assert [t.id for t in config.program.tiers] == ["bronze", "silver", "gold"]
    assert config.program.tiers[1].multiplier == Decimal("1.25")
    assert config.program.rewards[0].active_from is None
    assert config.readers.urls == ()


def test_layers_file_then_overrides(tmp_path):
    file = tmp_path / "kiosk.toml"
    file.write_text('[shop]\nname = "Corner shop"\ntimezone = "UTC"\n[program]\npoints = 2\n')

    config = load("program.points=3", "shop.name=Bazaar", file=file)

    assert config.shop.name == "Bazaar"  # a bare word is a string
    assert config.shop.timezone == "UTC"  # from the file
    assert config.program.points == 3  # the override wins
    assert config.sources == ("defaults", str(file), "overrides")


def test_kiosk_config_environment_names_the_file(tmp_path):
    file = tmp_path / "from-env.toml"
    file.write_text('[shop]\nname = "From env"\n')

    config = load_config(
        None, (), environ={"KIOSK_CONFIG": str(file)}, system_file=NO_SYSTEM_CONFIG
    )

    assert config.shop.name == "From env"


def test_system_file_is_read_when_present(tmp_path):
    system = tmp_path / "etc.toml"
    system.write_text('[shop]\nname = "System"\n')

    assert load_config(None, (), environ={}, system_file=system).shop.name == "System"


def test_arrays_of_tables_are_replaced_by_an_override():
    config = load(
        'program.rewards=[{id="tea", name_fa="چای", name_en="Tea", cost=50, kind="free_item", '
        'value=0, active_from="2026-03-21", active_until=""}]'
    )

    assert [r.id for r in config.program.rewards] == ["tea"]
    assert config.program.rewards[0].active_from == date(2026, 3, 21)


def test_every_problem_is_reported_at_once_with_a_hint(tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text('[shop]\ntimezon = "Asia/Tehran"\n[progam]\npoints = 1\n')

    found = problems(
        "program.points=many",
        "money.entry_unit=tomans",
        "device.simulated=1",
        "security.pin_scrypt_n=1000",
        file=file,
    )

    assert "did you mean 'timezone'" in found["shop.timezon"]
    assert "did you mean 'program'" in found["progam"]
    assert "whole number" in found["program.points"]
    assert "did you mean 'toman'" in found["money.entry_unit"]
    assert "true or false" in found["device.simulated"]


def test_value_rules_are_checked_after_types():
    found = problems(
        "shop.timezone=Asia/Teheran",
        "shop.phone_region=XX",
        'program.mode="point"',
        'readers.urls=["usb"]',
        "security.pin_scrypt_n=1000",
    )

    assert "did you mean 'Asia/Tehran'" in found["shop.timezone"]
    assert "shop.phone_region" in found
    assert "did you mean 'points'" in found["program.mode"]
    assert "nfc:" in found["readers.urls[0]"]
    assert "power of two" in found["security.pin_scrypt_n"]


def test_tiers_must_start_at_zero_and_rise():
    tiers = (
        'program.tiers=[{id="a", name_fa="a", name_en="a", threshold=10, multiplier="1"},'
        '{id="a", name_fa="b", name_en="b", threshold=5, multiplier="0.5"}]'
    )
    found = problems(tiers)

    assert "start at 0" in found["program.tiers[0].threshold"]
    assert "rise" in found["program.tiers[1].threshold"]
    assert "at least 1" in found["program.tiers[1].multiplier"]
    assert "used twice" in found["program.tiers[1].id"]


def test_a_percent_reward_is_between_1_and_100():
    found = problems(
        'program.rewards=[{id="x", name_fa="x", name_en="x", cost=5, kind="percent_discount",'
        ' value=150, active_from="", active_until="", colour="red"}]'
    )

    assert "program.rewards[0].colour" in found
    problems_only_value = problems(
        'program.rewards=[{id="x", name_fa="x", name_en="x", cost=5, kind="percent_discount",'
        ' value=150, active_from="", active_until=""}]'
    )
    assert "between 1 and 100" in problems_only_value["program.rewards[0].value"]


def test_problems_name_the_layer_they_came_from(tmp_path):
    file = tmp_path / "kiosk.toml"
    file.write_text("[program]\npoints = 0\n")

    with pytest.raises(ConfigError) as caught:
        load(file=file)

    assert str(file) in str(caught.value)


def test_a_missing_or_broken_config_file_is_a_problem(tmp_path):
    assert "does not exist" in problems(file=tmp_path / "nope.toml")["--config"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[shop\n")
    assert "not valid TOML" in problems(file=broken)["--config"]


def test_show_masks_secrets_and_round_trips():
    config = load('crm.device_secret="s3cret"', "program.points=7")

    text = config_to_toml(config)

    assert "s3cret" not in text
    assert config_to_dict(config, mask_secrets=False)["crm"]["device_secret"] == "s3cret"
    assert 'multiplier = "1.25"' in text
    assert "points = 7" in text


@pytest.mark.parametrize(
    ("cli", "environ", "overrides", "expected"),
    [
        ("/cli", {"KIOSK_DATA_DIR": "/env"}, ['paths.data_dir="/cfg"'], Path("/cli")),
        (None, {"KIOSK_DATA_DIR": "/env"}, ['paths.data_dir="/cfg"'], Path("/env")),
        (None, {}, ['paths.data_dir="/cfg"'], Path("/cfg")),
        (None, {}, ["device.simulated=true"], Path("var")),
        (None, {}, [], DEVICE_DATA_DIR),
    ],
)
def test_data_directory_order(cli, environ, overrides, expected):
    assert resolve_data_dir(load(*overrides), cli, environ) == expected


@pytest.mark.parametrize(("value", "why"), [("0", "at least 1"), ("31", "at most 30")])
def test_a_hold_timeout_a_shopper_could_not_wait_for_is_named(value: str, why: str):
    with pytest.raises(ConfigError) as caught:
        make_config(f"crm.hold_timeout_seconds={value}")

    assert "crm.hold_timeout_seconds" in str(caught.value) and why in str(caught.value)
    assert make_config().crm.hold_timeout_seconds == 3
