"""The core stays plain Python on sqlite: no UI, hardware or network libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"kivy", "nfc", "serial", "requests", "apscheduler", "evdev", "drivers", "sim", "sync"}
# The only parts of kiosk/ allowed to reach the outside world.
EDGES = ("ui", "cli", "wiring", "app")


def core_modules() -> list[Path]:
    return [
        path
        for path in sorted((ROOT / "kiosk").rglob("*.py"))
        if path.relative_to(ROOT / "kiosk").parts[0].removesuffix(".py") not in EDGES
    ]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_no_ui_hardware_or_network_library(path):
    assert not imported_roots(path) & FORBIDDEN


def test_the_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import requests\nfrom kivy.app import App\n")

    assert imported_roots(bad) & FORBIDDEN == {"requests", "kivy"}
