"""Every action the hub's code records in the audit log has a name on the audit page, in
Persian and in English: the test reads the code for the actions, so a new one recorded
without a name fails here rather than showing as `member.something` to the owner."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What records an event: hub/audit's `record` (as `audit.record`, or imported by a name of
# its own), and the CLIs' `_audit` helpers (the action their first argument).
_HELPERS = {"_audit": 0}


@pytest.fixture(scope="module", autouse=True)
def _django(django_in_process: None) -> None:
    """Django's settings in this process (no database is touched by these tests)."""


def _recorders(tree: ast.Module) -> dict[str, int]:
    """The names a module calls hub/audit's `record` by (with the action's position)."""
    names = dict(_HELPERS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hub.audit"):
            names |= {
                alias.asname or alias.name: 1 for alias in node.names if alias.name == "record"
            }
    return names


def _recorder(call: ast.Call, names: dict[str, int]) -> int | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "record":
        if isinstance(func.value, ast.Name) and func.value.id == "audit":
            return 1
        return None
    if isinstance(func, ast.Name) and func.id in names:
        return names[func.id]
    return None


def _assigned(function: ast.AST, name: str) -> list[str]:
    """The texts a variable is given in its function (`action = "x"`)."""
    found: list[str] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            found += _texts(node.value)
    return found


def _texts(node: ast.AST) -> list[str]:
    """The texts an expression may be: a literal, or either side of `a if test else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _texts(node.body) + _texts(node.orelse)
    return []


def recorded_actions() -> dict[str, str]:
    """Every action name the code under hub/ records, with where."""
    actions: dict[str, str] = {}
    for path in sorted((ROOT / "hub").rglob("*.py")):
        if "migrations" in path.parts or path.parent.name == "audit":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _recorders(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
            for call in ast.walk(function):
                if not isinstance(call, ast.Call):
                    continue
                index = _recorder(call, names)
                if index is None or len(call.args) <= index:
                    continue
                given = call.args[index]
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                if isinstance(given, ast.Name) and given.id in parameters:
                    continue  # a helper passing its caller's action on (the callers are read)
                if isinstance(given, ast.Name):
                    texts = _assigned(function, given.id)
                else:
                    texts = _texts(given)
                if isinstance(given, ast.JoinedStr) or not texts:
                    actions[f"<made at run time: write it whole at {where}>"] = where
                for text in texts:
                    actions.setdefault(text, where)
    return actions


def test_the_code_is_read_for_the_actions_it_records():
    actions = recorded_actions()
    # One from each kind of recorder: the panel's pages, the sign-in, the two CLIs.
    assert {"member.erase", "sign_in_failed", "staff.pin", "webhook.pause", "apikey.add"} <= set(
        actions
    ), sorted(actions)


@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_recorded_action_has_a_name_in_both_languages(language):
    from django.urls import get_resolver
    from django.utils import translation

    from hub.panel.audit_log import ACTION_NAMES, action_name

    assert get_resolver().url_patterns  # every page's module imported: each names its own
    with translation.override(language):
        unnamed = {
            action: where
            for action, where in recorded_actions().items()
            if action not in ACTION_NAMES or action_name(action) == action
        }
        assert unnamed == {}
        if language == "fa":
            latin = {a: action_name(a) for a in ACTION_NAMES if action_name(a).isascii()}
            assert latin == {}  # each has its Persian, not the English left in
