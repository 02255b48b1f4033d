"""Config files, the provisioned layer and `-o` overrides: loaded, or every problem listed.

A config that loads prints (`kiosk config show`) as TOML that loads back the same.
"""

from __future__ import annotations

import copy
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from kiosk.config import ConfigError, KioskConfig, config_to_toml, default_document, load_config
from tests.conftest import NO_SYSTEM_CONFIG
from tests.fuzz.defects import FUZZ, Outcome, attempt, defect_test, tried

DEFAULTS = default_document()


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        paths = [prefix] if prefix else []
        for key, child in value.items():
            paths += leaf_paths(child, (*prefix, key))
        return paths
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        paths = [prefix]
        for index, child in enumerate(value):
            paths += leaf_paths(child, (*prefix, index))
        return paths
    return [prefix]


CONFIG_PATHS = leaf_paths(DEFAULTS)
TOML_KEYS = st.one_of(
    st.sampled_from(sorted({str(p[-1]) for p in CONFIG_PATHS if isinstance(p[-1], str)})),
    st.text(max_size=8),
)
TOML_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 3, 1023, 1024, 2**20, 2**63 - 1, -(2**63)]),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "fa",
            "en",
            "de",
            "IR",
            "XX",
            "Asia/Tehran",
            "Asia/Tehrn",
            "toman",
            "Toman",
            "rial",
            "points",
            "stamps",
            "jalali",
            "https://crm.example",
            "ftp://x",
            "1.25",
            "NaN",
            "sNaN",
            "-Infinity",
            "1e999999999",
            "0.5",
            "2026-03-21",
            "2026-02-30",
            "serial:/dev/ttyUSB0",
            "nfc:usb",
            "percent_discount",
            "fixed_discount",
            "free_item",
            "cashier",
        ]
    ),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.times(),
)
TOML_VALUES: st.SearchStrategy[Any] = st.recursive(
    TOML_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(TOML_KEYS, children, max_size=3)
    ),
    max_leaves=8,
)


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set `path` in `doc` to `value`, making tables on the way; a path that cannot be is left."""
    for key in path[:-1]:
        if isinstance(doc, dict) and isinstance(key, str):
            doc = doc.setdefault(key, {})
        elif isinstance(doc, list) and isinstance(key, int) and key < len(doc):
            doc = doc[key]
        else:
            return
    last: Any = path[-1]
    fits = isinstance(last, str) if isinstance(doc, dict) else isinstance(last, int)
    if fits and (isinstance(doc, dict) or (isinstance(doc, list) and last < len(doc))):
        doc[last] = value


def drop(doc: Any, path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        if (isinstance(doc, dict) and key in doc) or (
            isinstance(doc, list) and isinstance(key, int) and key < len(doc)
        ):
            doc = doc[key]
        else:
            return
    if isinstance(doc, dict):
        doc.pop(path[-1], None)


@st.composite
def config_documents(draw: st.DrawFn) -> dict[str, Any]:
    """The shipped defaults (or nothing) with some values changed, dropped or added."""
    doc: dict[str, Any] = copy.deepcopy(DEFAULTS) if draw(st.booleans()) else {}
    for _ in range(draw(st.integers(1, 6))):
        path = draw(st.sampled_from(CONFIG_PATHS))
        operation = draw(st.sampled_from(["set", "set", "set", "drop", "extra"]))
        if operation == "set":
            put(doc, path, draw(TOML_VALUES))
        elif operation == "drop":
            drop(doc, path)
        else:
            put(doc, (*path[:-1], draw(TOML_KEYS)), draw(TOML_VALUES))
    return doc


TOML_LINES = st.one_of(
    st.builds(
        lambda section: f"[{section}]",
        st.sampled_from(["device", "shop", "money", "program", "program.limits", "crm", "ui", "x"]),
    ),
    st.sampled_from(["[[program.tiers]]", "[[program.rewards]]", "[[x]]", "[", "]]"]),
    st.builds(
        lambda key, value: f"{key} = {value}",
        TOML_KEYS,
        st.one_of(
            st.sampled_from(
                [
                    '"x"',
                    "1",
                    "-1",
                    "1e400",
                    "nan",
                    "inf",
                    "true",
                    "[]",
                    "{}",
                    "2026-01-01",
                    "2026-01-01T00:00:00",
                    "00:00",
                    '"""',
                    "'",
                    "0x7fffffffffffffff",
                    "99999999999999999999",
                    "1" * 4400,
                    "[1, 'a']",
                    "{a = 1}",
                    "",
                ]
            ),
            st.text(max_size=10),
        ),
    ),
    st.text(max_size=20),
)
CONFIG_TEXTS = st.one_of(
    st.lists(TOML_LINES, max_size=12).map("\n".join),
    st.text(max_size=200),
)


def check_loaded(out: Outcome, folder: Path) -> None:
    """A config that loads prints (`kiosk config show`) as TOML that loads back the same."""
    if out.kind != "ok":
        return
    config: KioskConfig = out.value
    shown = folder / "shown.toml"
    shown.write_text(config_to_toml(config, mask_secrets=False), encoding="utf-8")
    again = load_config(shown, environ={}, system_file=NO_SYSTEM_CONFIG, data_dir=folder)
    assert again == config


def config_folder(tmp_path: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "data").mkdir()
    return folder


@FUZZ
@given(text=CONFIG_TEXTS, raw=st.one_of(st.none(), st.binary(max_size=60)))
def test_config_text_loads_or_lists_its_problems(
    tmp_path: Path, text: str, raw: bytes | None
) -> None:
    tried("config.text")
    folder = config_folder(tmp_path)
    path = folder / "kiosk.toml"
    if raw is None:
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(raw)
    out = attempt(
        lambda: load_config(
            path, environ={}, system_file=NO_SYSTEM_CONFIG, data_dir=folder / "data"
        ),
        (ConfigError,),
    )
    check_loaded(out, folder)


@FUZZ
@given(
    doc=config_documents(),
    provisioned=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["crm", "shop", "ui", "x"]),
            st.dictionaries(st.sampled_from(["url", "ca_bundle", "name", "width"]), TOML_VALUES),
            max_size=3,
        ),
    ),
)
def test_config_documents_load_or_list_their_problems(
    tmp_path: Path, doc: dict[str, Any], provisioned: dict[str, Any] | None
) -> None:
    tried("config.document")
    folder = config_folder(tmp_path)
    path = folder / "kiosk.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    if provisioned is not None:
        (folder / "data" / "provisioned.toml").write_text(
            tomli_w.dumps(provisioned), encoding="utf-8"
        )
    out = attempt(
        lambda: load_config(
            path, environ={}, system_file=NO_SYSTEM_CONFIG, data_dir=folder / "data"
        ),
        (ConfigError,),
    )
    check_loaded(out, folder)


OVERRIDES = st.one_of(
    st.builds(
        lambda path, value: f"{path}={value}",
        st.one_of(
            st.sampled_from(
                [
                    ".".join(str(k) for k in p)
                    for p in CONFIG_PATHS
                    if all(isinstance(k, str) for k in p)
                ]
            ),
            st.text(max_size=12),
        ),
        st.one_of(
            st.sampled_from(
                [
                    '"x"',
                    "1",
                    "-1",
                    "1e400",
                    "nan",
                    "true",
                    "[]",
                    "{a=1}",
                    "2026-01-01",
                    "",
                    "Corner shop",
                    '["serial:/dev/ttyUSB0"]',
                    "99999999999999999999",
                    "1" * 4400,
                    "1\nx=2",
                ]
            ),
            st.text(max_size=12),
        ),
    ),
    st.text(max_size=20),
)


@FUZZ
@given(overrides=st.lists(OVERRIDES, max_size=4))
def test_config_overrides_load_or_list_their_problems(tmp_path: Path, overrides: list[str]) -> None:
    tried("config.overrides")
    folder = config_folder(tmp_path)
    out = attempt(
        lambda: load_config(
            None, overrides, environ={}, system_file=NO_SYSTEM_CONFIG, data_dir=folder / "data"
        ),
        (ConfigError,),
    )
    check_loaded(out, folder)


# -- defects found here, each shown by one input (KNOWN_DEFECTS in defects.py) ------------
#
# Each test states what should happen; while its defect is open it fails as the reason says.


def load_text(tmp_path: Path, text: str, **kwargs: Any) -> KioskConfig:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={}, system_file=NO_SYSTEM_CONFIG, **kwargs)


@defect_test("config_datetime_dates")
def test_defect_config_datetime_reward_dates(tmp_path: Path) -> None:
    text = (
        '[[program.rewards]]\nid = "a"\nname_fa = "a"\nname_en = "a"\ncost = 1\n'
        'kind = "free_item"\nvalue = 0\nactive_from = 2026-01-01T00:00:00\n'
        "active_until = 2026-02-01\n"
    )
    with pytest.raises(ConfigError):
        load_text(tmp_path, text, data_dir=tmp_path)


@defect_test("config_long_data_dir")
def test_defect_config_data_dir_name_too_long(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_text(tmp_path, f'[paths]\ndata_dir = "{"a" * 300}"\n')


@defect_test("config_huge_integer_literal")
def test_defect_config_integer_of_more_than_4300_digits(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_text(tmp_path, f"[program]\npoints = {'1' * 5000}\n", data_dir=tmp_path)
    with pytest.raises(ConfigError):
        load_config(
            None,
            [f"program.points={'1' * 5000}"],
            environ={},
            system_file=NO_SYSTEM_CONFIG,
            data_dir=tmp_path,
        )
