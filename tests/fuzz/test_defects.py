"""Every known defect has its test, somewhere in this package, and says where it was."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.fuzz.defects import KNOWN_DEFECTS, ORACLE_DEFECTS


def defined_tests() -> set[str]:
    """The names of the test functions in every test file of this package."""
    names: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    return names


def test_every_known_defect_has_its_test() -> None:
    names = defined_tests()
    for name, defect in KNOWN_DEFECTS.items():
        assert defect.test in names, name
        assert defect.exceptions or name in ORACLE_DEFECTS, name
        assert re.match(r"[\w/]+\.py:[\w./]+[: ]", defect.reason), name
