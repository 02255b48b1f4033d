"""Loading the configuration in layers, and writing it out again.

Layers, later wins: the shipped `defaults.toml`; one config file (`--config`, else
`KIOSK_CONFIG`, else `/etc/loyalty-kiosk/kiosk.toml` when it exists); what provisioning wrote
into the data directory (`provisioned.toml`, only its keys); `-o section.key=value`
overrides. Unknown keys are problems as the layers merge; the merged document is then
converted (`kiosk/config/convert.py`) and every problem raised at once as a `ConfigError`.
`config_to_dict`/`config_to_toml` write a config back out, secrets masked.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tomllib
import typing
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from kiosk.config.convert import _build
from kiosk.config.problems import ConfigError, Problem, suggest
from kiosk.config.schema import (
    DEVICE_DATA_DIR,
    MASK,
    PROVISIONED_FILENAME,
    PROVISIONED_KEYS,
    SECRET_KEYS,
    SIMULATOR_DATA_DIR,
    SYSTEM_CONFIG,
    KioskConfig,
)


def default_document() -> dict[str, Any]:
    """The shipped defaults as a TOML document."""
    text = resources.files("kiosk.config").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


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
            problems.append(Problem(path, "unknown key" + suggest(key, schema), source))
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
