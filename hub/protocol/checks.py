"""What a heartbeat must be (docs/sync-protocol.md, "Heartbeat"), checked as the simulator does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.formats import all_storable, is_int64, parse_timestamp


def _readers(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("state"), str)
        for r in value
    )


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "version": lambda v: isinstance(v, str),
    "queue_depth": lambda v: is_int64(v, minimum=0),
    "oldest_unsynced_at": lambda v: v is None or parse_timestamp(v) is not None,
    "readers": _readers,
    "disk_free_bytes": lambda v: is_int64(v, minimum=0),
    "clock_offset_ms": lambda v: v is None or is_int64(v),
}


def heartbeat_problem(status: object) -> str | None:
    """Why `status` is not a Heartbeat, or None."""
    if not isinstance(status, dict):
        return "a heartbeat must be an object"
    for name, check in _CHECKS.items():
        if name not in status:
            return f"{name} is missing"
        if not check(status[name]):
            return f"{name} is not valid"
    if not all_storable(heartbeat_kept(status)):  # what is not kept need not be storable
        return "a field holds what PostgreSQL cannot store (NUL, a lone surrogate, NaN, Infinity)"
    return None


def heartbeat_kept(status: dict[str, Any]) -> dict[str, Any]:
    """What the hub keeps of a checked heartbeat: the protocol's fields, nothing else."""
    kept = {name: status[name] for name in _CHECKS}
    kept["readers"] = [{"name": r["name"], "state": r["state"]} for r in status["readers"]]
    return kept
