"""The layers and the direction of imports (docs/architecture.md), checked on every module.

Each package may import only the packages below it. A rule names a package by its
dotted prefix; the most specific rule that matches a module is the one that applies.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kiosk", "drivers", "sync", "sim", "hub")

# Third-party libraries that belong to one edge each.
UI_LIBRARIES = {"kivy"}
HARDWARE_LIBRARIES = {"nfc", "serial", "evdev"}
NETWORK_LIBRARIES = {"requests", "urllib3", "apscheduler"}
OUTSIDE = UI_LIBRARIES | HARDWARE_LIBRARIES | NETWORK_LIBRARIES


@dataclass(frozen=True)
class Rule:
    """What the modules under `package` may not import (a dotted prefix each)."""

    package: str
    forbidden: frozenset[str]
    why: str
    exact: bool = False  # the module itself only, not the modules under it
    allowed: frozenset[str] = frozenset()  # exceptions under a forbidden prefix


def _rule(
    package: str,
    forbidden: set[str],
    why: str,
    *,
    exact: bool = False,
    allowed: frozenset[str] = frozenset(),
) -> Rule:
    return Rule(package, frozenset(forbidden), why, exact, allowed)


_ABOVE_CORE = {"kiosk.ui", "kiosk.cli", "kiosk.appliance", "kiosk.bootstrap"}
RULES = [
    _rule(
        "kiosk",
        {"kiosk.", "drivers", "sync", "sim", *OUTSIDE},
        "the package itself holds nothing",
        exact=True,
    ),
    _rule(
        "kiosk.errors",
        {"kiosk", "drivers", "sync", "sim", *OUTSIDE},
        "the errors are the vocabulary of every layer: a leaf",
    ),
    _rule(
        "kiosk.text",
        {"kiosk.core", "kiosk.config", *_ABOVE_CORE, "drivers", "sync", "sim", *OUTSIDE},
        "text and numbers are plain functions under everything",
    ),
    _rule(
        "kiosk.config",
        {"kiosk.core", *_ABOVE_CORE, "drivers", "sync", "sim", *OUTSIDE},
        "the configuration is read before anything is built",
    ),
    _rule(
        "kiosk.core",
        {*_ABOVE_CORE, "drivers", "sync", "sim", *OUTSIDE},
        "the core is plain Python on SQLite: no screen, hardware, network or simulator",
    ),
    _rule(
        "kiosk.core.store",
        {"kiosk.core.service", "kiosk.core.service_base", "kiosk.core.enrollment"}
        | {*_ABOVE_CORE, "drivers", "sync", "sim", *OUTSIDE},
        "the stores own the tables and know nothing of the service that uses them",
    ),
    _rule(
        "kiosk.appliance",
        {"kiosk.ui", "kiosk.cli", "kiosk.bootstrap", "sync", "sim", *UI_LIBRARIES}
        | NETWORK_LIBRARIES,
        "the appliance's tools are called by the CLI and the UI, never the other way",
    ),
    _rule(
        "kiosk.ui",
        {"kiosk.cli", "kiosk.bootstrap", "sync", "sim", *HARDWARE_LIBRARIES, *NETWORK_LIBRARIES},
        "the touch app gets its readers, CRM and simulators from the composition root",
    ),
    _rule(
        "kiosk.ui.screenshots",
        {"kiosk.cli", "sync", "sim", *HARDWARE_LIBRARIES, *NETWORK_LIBRARIES},
        "the docs' screenshots build their app through the composition root, as `kiosk run`",
    ),
    _rule("kiosk.cli", {"kiosk.ui"}, "the CLI starts the touch app through the composition root"),
    _rule("kiosk.bootstrap", set(), "the composition root may use every part"),
    _rule(
        "drivers",
        {"kiosk", "sync", "sim", *UI_LIBRARIES, *NETWORK_LIBRARIES},
        "drivers turn hardware into events; simulators register themselves",
    ),
    _rule(
        "sync",
        {"kiosk.ui", "kiosk.cli", "kiosk.bootstrap", "drivers", "sim", *UI_LIBRARIES},
        "the sync worker never reaches the screen, the hardware or a simulator",
    ),
    _rule(
        "sim",
        {"kiosk.ui", "kiosk.cli", "kiosk.bootstrap", *UI_LIBRARIES},
        "simulators implement the drivers' protocols and the CRM's HTTP contract",
    ),
    _rule(
        "hub",
        {"kiosk", "drivers", "sync", "sim", *UI_LIBRARIES, *HARDWARE_LIBRARIES},
        "the hub is installed apart: of the kiosk's code it shares the protocol's signing "
        "and the owner's signatures only",
        allowed=frozenset({"sync.signing", "sync.owner_key"}),
    ),
]


def module_name(path: Path) -> str:
    """`kiosk/core/store/db.py` -> `kiosk.core.store.db`; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rule_for(module: str) -> Rule:
    """The most specific rule whose package is `module` or contains it."""
    matching = [
        r
        for r in RULES
        if module == r.package or (not r.exact and module.startswith(r.package + "."))
    ]
    assert matching, f"{module} is under no rule: add it to RULES and docs/architecture.md"
    return max(matching, key=lambda r: len(r.package))


def imported(path: Path) -> set[str]:
    """Every module `path` imports, as absolute dotted names (relative imports resolved)."""
    names: set[str] = set()
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], base]).strip(".")
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def violations(path: Path) -> list[str]:
    """The imports of `path` that its layer's rule forbids, with the rule's reason."""
    module = module_name(path)
    rule = rule_for(module)
    found = []
    for name in sorted(imported(path)):
        if any(name == a or name.startswith(a + ".") for a in rule.allowed):
            continue
        for forbidden in rule.forbidden:
            if (name == forbidden or name.startswith(forbidden + ".")) and not (
                module == forbidden or module.startswith(forbidden + ".")
            ):
                found.append(f"{module} imports {name}: {rule.why}")
    return found


def all_modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_imports_only_what_its_layer_allows(path: Path):
    assert violations(path) == []


@pytest.mark.parametrize(
    ("where", "source", "why"),
    [
        ("kiosk/core/bad_layer.py", "import kivy\n", "the core is plain Python"),
        ("kiosk/core/bad_layer.py", "from sync.worker import SyncWorker\n", "the core is plain"),
        ("kiosk/core/store/bad_layer.py", "from kiosk.core.service import X\n", "the stores own"),
        ("kiosk/text/bad_layer.py", "from kiosk.core.clock import to_iso\n", "text and numbers"),
        ("kiosk/config/bad_layer.py", "from kiosk.core import service\n", "the configuration"),
        ("kiosk/ui/bad_layer.py", "from sim.reader import SimReader\n", "the touch app"),
        ("kiosk/ui/bad_layer.py", "from ..bootstrap import Appliance\n", "the touch app"),
        ("kiosk/appliance/bad_layer.py", "import requests\n", "the appliance's tools"),
        ("drivers/bad_layer.py", "from sim import schemes\n", "drivers turn hardware"),
        ("drivers/bad_layer.py", "from kiosk.errors import KioskError\n", "drivers turn"),
        ("sync/bad_layer.py", "from sim.crm import CrmServer\n", "the sync worker never"),
        ("sync/bad_layer.py", "import kiosk.ui.app\n", "the sync worker never"),
        ("sim/bad_layer.py", "from kiosk.ui.app import KioskApp\n", "simulators implement"),
        ("hub/bad_layer.py", "from sync.client import CrmClient\n", "the hub is installed"),
        ("hub/bad_layer.py", "from kiosk.core.service import X\n", "the hub is installed"),
        ("hub/bad_layer.py", "import sim.crm\n", "the hub is installed"),
        ("kiosk/errors_bad_layer.py", "import kiosk.core\n", ""),
    ],
)
def test_a_wrong_import_in_each_direction_is_caught(where: str, source: str, why: str):
    module = ROOT / where
    assert not module.exists()
    module.write_text(source, encoding="utf-8")
    try:
        if where == "kiosk/errors_bad_layer.py":
            # A module under no package's rule is itself an error: RULES must cover it.
            with pytest.raises(AssertionError, match="is under no rule"):
                violations(module)
            return
        found = violations(module)
    finally:
        module.unlink()

    assert found, f"{where}: {source!r} was not caught"
    assert why in found[0]


def test_every_module_of_a_package_falls_under_a_rule():
    assert {rule_for(module_name(p)).package for p in all_modules()} >= {
        "kiosk.core",
        "kiosk.core.store",
        "kiosk.text",
        "kiosk.config",
        "kiosk.appliance",
        "kiosk.ui",
        "kiosk.cli",
        "drivers",
        "sync",
        "sim",
        "hub",
    }


def test_no_kiosk_package_imports_the_hub():
    # The Raspberry Pi never installs the hub: nothing of the kiosk may need it.
    kiosk_side = [p for p in all_modules() if module_name(p).split(".")[0] != "hub"]
    found = [
        f"{module_name(p)} imports {name}"
        for p in kiosk_side
        for name in sorted(imported(p))
        if name == "hub" or name.startswith("hub.")
    ]

    assert found == []


def test_the_core_imports_no_outside_library_even_lazily_at_run_time(tmp_path: Path):
    # Importing the whole core in a fresh interpreter loads none of the edge libraries.
    import subprocess

    probe = (
        "import sys, pkgutil, importlib, kiosk.core\n"
        "for m in pkgutil.walk_packages(kiosk.core.__path__, 'kiosk.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {sorted(OUTSIDE)!r}"
        " or n.split('.')[0] in ('drivers', 'sync', 'sim'))\n"
        "print(','.join(bad))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()

    assert loaded == ""
