"""The typed converter: the merged TOML document into `KioskConfig`, every problem reported.

`_Builder` walks the dataclasses of `kiosk/config/schema.py` by their type hints (tables,
lists, `date | None`, `Literal`, bool, int, `Decimal` from a string, str), so no section needs
code of its own. A wrong value does not stop it: each problem is recorded with its key and
the layer that set it (from `origins`), unknown keys get the nearest known name, and the
cross-field rules (`kiosk/config/rules.py`) run once every type is right.

Why not a typed-settings library (pydantic-settings, Mopidy-style fields): weighed, and
not taken. pydantic-settings has aarch64 wheels (pydantic-core is compiled for it), but it
puts seven packages, about 8 MB unpacked and 11 MB with their byte code, on the Pi's SD card
for one load at start-up. It reports every problem at once, yet not as tests/test_config.py
expects: no "did you mean" (a misspelt `shop.timezon` is "Field required" for `timezone` plus
"Extra inputs are not permitted" for `timezon`), and no layer per problem (its sources merge
before validation, so which layer set a bad value is lost); strict mode refuses "1.25" as a
Decimal and lax mode takes "5" as 5. Each would need our own code on top of it: more code,
not less. Mopidy's config fields come with Mopidy and read INI, not TOML.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kiosk.config.problems import Problem, suggest
from kiosk.config.rules import _validate
from kiosk.config.schema import KioskConfig


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
            if f.name not in data and f.default is not dataclasses.MISSING:
                continue  # an item's optional key (an offer's): its default holds
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
            self.problem(f"{prefix}{extra}", "unknown key" + suggest(extra, names))
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
                key, f"must be one of {choices}, not {value!r}" + suggest(str(value), allowed)
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
