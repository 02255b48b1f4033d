"""`kiosk key status` and `kiosk key rotate`: the technician's view of the data key, and a
new one (kiosk/core/store/rekey.py, docs/security.md "At rest").

A rotation, in this order, each step one a power cut leaves whole or undone:

1. the device secret, when the target is `hub` (which needs it to ask for its key): written
   in clear as the `hub` source keeps it;
2. the database, in one transaction: a new data key, every sealed value and blind index
   redone, the key stored wrapped by the target source; then the WAL checkpointed and the
   file vacuumed, so nothing sealed with the old key stays in it;
3. the device secret sealed with the target source (when it changed);
4. each backup's data key wrapped by the target source (when it changed), so old backups
   stay restorable.

Each of the secret and the backups is opened with whichever source sealed it (a backup
names it; the secret is tried with each source here), so a rotation cut short after step 2
is finished by running `kiosk key rotate` again. The local key file is never deleted here:
backups copied elsewhere may still need it.
"""

from __future__ import annotations

import argparse
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiosk.appliance.keys import (
    SOURCES,
    otp_available,
    protects_against_theft,
    resolve,
    sealed_with,
)
from kiosk.cli.common import EXIT_FAILED, Context, common_options, emit, fail
from kiosk.core.store.db import checkpoint, connect, database_path, open_existing
from kiosk.core.store.rekey import opens, rewrap_copy, rotate, sealed_counts
from kiosk.core.store.staff import CLI
from kiosk.core.store.vault import KEY_FILENAME, KeySource, LocalKeyFile, stored_key
from kiosk.errors import DataKeyUnavailable, InvalidInput, StorageUnavailable

BACKUP_GLOB = "kiosk-*.db"
_RUNNING = ("active", "activating", "reloading", "deactivating")
_SERVICES = ("loyalty-kiosk.service", "loyalty-kiosk-sync.service")
RUN_DIR = Path("/run")  # where systemd says it runs (sd_booted(3)); tests point it elsewhere
_WHAT = {
    "otp": "the board's OTP key",
    "hub": "a key the hub keeps for this device",
    "file": f"the local key file {KEY_FILENAME} beside the data",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `kiosk key status` and `kiosk key rotate`."""
    common = common_options()
    key = commands.add_parser("key", help="the data key that seals members' data: status, rotate")
    sub = key.add_subparsers(dest="key_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "status",
        parents=[common],
        help="which source wraps the data key, whether it opens, how much is sealed",
        description="Which key source wraps the data key, whether that protects members' "
        "data against a stolen SD card, whether the key opens here, how many values are "
        "sealed, and the device secret and backups. Changes nothing. "
        "Example: kiosk key status",
    )
    p.set_defaults(handler=status_run)
    p = sub.add_parser(
        "rotate",
        parents=[common],
        help="a new data key, every sealed value re-sealed (stop the kiosk first)",
        description="Makes a new data key and re-seals every sealed value with it in one "
        "transaction, wrapped by --to (default: security.key_source, which must name the "
        "same source: set it first); then compacts the database, re-seals the device "
        "secret and re-wraps each backup's key when the source changed. Stop the kiosk's "
        "services first. Run again to finish one cut short by a power cut. "
        "Example: kiosk key rotate --to otp",
    )
    p.add_argument(
        "--to",
        choices=SOURCES,
        metavar="SOURCE",
        help=f"the key source to wrap the new key with ({', '.join(SOURCES)}; "
        "default security.key_source)",
    )
    p.set_defaults(handler=rotate_run)


# -- status -----------------------------------------------------------------------------------


def status_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk key status."""
    path = _database(ctx)
    conn = open_existing(path)
    try:
        found = stored_key(conn)
        name = found["source"] if found else None
        configured = ctx.config.security.key_source
        source = _source_named(ctx, name) if name else None
        try:
            if source is None:
                raise DataKeyUnavailable(reason="the database has no data key yet")
            if isinstance(source, LocalKeyFile) and not source.path.exists():
                raise DataKeyUnavailable(reason=f"the key file {source.path} is gone")
            opens(conn, source)
            opened, reason = True, None
        except DataKeyUnavailable as exc:
            opened, reason = False, str(exc.params.get("reason", exc))
        try:
            counts: dict[str, int] | None = sealed_counts(conn)
        except sqlite3.Error:  # a database from before sealing, not opened since
            counts = None
    finally:
        conn.close()
    data: dict[str, Any] = {
        "source": name,
        "configured": configured,
        "protects_against_theft": source is not None and protects_against_theft(source),
        "opens": opened,
        "reason": reason,
        "sealed": sum(counts.values()) if counts else 0,
        "sealed_by_kind": counts,
        "secret": _secret_state(ctx, [s for s in (source,) if s is not None]),
        "backups": _backup_sources(ctx.data_dir),
    }
    emit(ctx, data, _status_text(data))
    return 0


def _status_text(data: dict[str, Any]) -> str:
    name = data["source"]
    lines = [
        f"key source: {name} ({_WHAT.get(name, 'unknown')})" if name else "key source: none yet",
        f"configured: security.key_source = {data['configured']}",
        "protects against a stolen SD card: "
        + ("yes" if data["protects_against_theft"] else "NO (program the OTP key or use the hub)"),
        "data key opens: " + ("yes" if data["opens"] else f"NO ({data['reason']})"),
        f"sealed values: {data['sealed']}" + _kinds(data["sealed_by_kind"]),
        f"device secret: {data['secret']}",
    ]
    backups = data["backups"]
    if backups:
        by = ", ".join(f"{n} {what}" for what, n in sorted(_tally(backups.values()).items()))
        lines.append(f"backups: {len(backups)} ({by})")
    else:
        lines.append("backups: none")
    return "\n".join(lines)


# -- rotate -----------------------------------------------------------------------------------


@dataclass
class Rotation:
    """What `kiosk key rotate` did, step by step."""

    previous: str
    source: str
    sealed: int
    sealed_by_kind: dict[str, int]
    chain_seals: int
    compacted: bool
    secret: str
    backups: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    key_file: str | None = None


def rotate_run(ctx: Context, args: argparse.Namespace) -> int:
    """kiosk key rotate."""
    path = _database(ctx)
    running = _services_running()
    if running:
        raise InvalidInput(
            f"Stop the kiosk first (sudo systemctl stop {' '.join(running)}): a running kiosk "
            "keeps the old key in memory. Nothing was changed."
        )
    setting = ctx.config.security.key_source
    wanted = args.to or setting
    previous = sealed_with(path)
    target = _target(ctx, wanted, previous)
    if setting not in ("auto", target.name):
        raise InvalidInput(
            f"The configuration (security.key_source = '{setting}') would not open a key "
            f"wrapped by '{target.name}': set security.key_source to '{target.name}' (or "
            "'auto') first. Nothing was changed."
        )
    previous = previous or target.name
    old = target if previous == target.name else _source_named(ctx, previous)

    secret, sealed_by = _read_secret(ctx, [old, target])
    if target.name == "hub" and secret is not None and sealed_by is not None:
        _save_secret(ctx, secret, target)  # the hub's key is asked for with it
        sealed_by = None
    target.key()  # the target's key can be had: else nothing is written

    conn = connect(path, keys=old)
    try:
        done = rotate(conn, target, actor=CLI.actor_id)
        compacted = checkpoint(conn)
        conn.execute("VACUUM")  # free pages may hold what the old key sealed
        compacted = checkpoint(conn) and compacted
    finally:
        conn.close()

    result = Rotation(
        previous=done.previous,
        source=done.source,
        sealed=done.sealed,
        sealed_by_kind={
            "people": done.people,
            "cards": done.cards,
            "staff": done.staff,
            "pins": done.pins,
            "meta": done.meta,
        },
        chain_seals=done.chain_seals,
        compacted=compacted,
        secret=_reseal_secret(ctx, secret, sealed_by, target),
    )
    _rewrap_backups(ctx, target, result)
    key_file = ctx.data_dir / KEY_FILENAME
    if target.name != "file" and key_file.exists():
        result.key_file = str(key_file)
    emit(ctx, asdict(result), _rotation_text(result))
    if result.problems:
        return fail(
            ctx,
            "key.rotate.unfinished",
            "the new key is in use, but not everything could be moved to it: "
            + "; ".join(result.problems)
            + " (run `kiosk key rotate` again once that is fixed)",
            EXIT_FAILED,
        )
    return 0


def _rotation_text(result: Rotation) -> str:
    was = (
        f"was '{result.previous}'"
        if result.previous != result.source
        else "the same source, a new key"
    )
    lines = [
        f"data key rotated: {result.sealed} sealed values{_kinds(result.sealed_by_kind)} "
        f"re-sealed with a new data key, wrapped by '{result.source}' ({was}); phone and card "
        f"indexes recomputed; {result.chain_seals} chain seals (ledger, audit) made again",
        "database: WAL truncated and file vacuumed (nothing sealed with the old key left in it)"
        if result.compacted
        else "database: vacuumed, but a reader kept part of the WAL: run it again when the "
        "kiosk is stopped",
        f"device secret: {result.secret}",
    ]
    if result.backups:
        by = ", ".join(f"{n} {what}" for what, n in sorted(_tally(result.backups.values()).items()))
        lines.append(f"backups: {by}")
    else:
        lines.append("backups: none")
    if result.key_file:
        lines.append(
            f"the local key file {result.key_file} wraps nothing here any more: delete it once "
            "no backup copied elsewhere (`kiosk backup --to`) needs it"
        )
    return "\n".join(lines)


# -- the device secret ----------------------------------------------------------------------


def _read_secret(ctx: Context, tried: list[KeySource]) -> tuple[bytes | None, str | None]:
    """The device secret and the name of the source that sealed it (None: in clear, or no
    secret file). Tried with each source that may have sealed it: a rotation cut short
    leaves it sealed by the source before."""
    from sync.secret import SEALED, load_secret, secret_path

    crm = ctx.config.crm
    if crm.device_secret:
        return None, None
    file = secret_path(crm, ctx.data_dir)
    if not file.exists():
        return None, None
    if not file.read_text(encoding="ascii").strip().startswith(SEALED):
        return load_secret(crm, ctx.data_dir, None), None
    last: DataKeyUnavailable | None = None
    for source in _sealers(ctx, tried):
        try:
            return load_secret(crm, ctx.data_dir, source), source.name
        except DataKeyUnavailable as exc:
            last = exc
    raise DataKeyUnavailable(
        reason=f"the device secret ({file}) opens with no key source here "
        f"({last.params.get('reason') if last else 'none'}): provision the kiosk again"
    )


def _sealers(ctx: Context, tried: list[KeySource]) -> list[KeySource]:
    """The sources that may have sealed the secret (never `hub`), each once."""
    candidates = [  # a key file that is not there would be made: it sealed nothing
        s
        for s in tried
        if s.name != "hub" and not (isinstance(s, LocalKeyFile) and not s.path.exists())
    ]
    if otp_available():
        candidates.append(_source_named(ctx, "otp"))
    if (ctx.data_dir / KEY_FILENAME).exists():
        candidates.append(_source_named(ctx, "file"))
    unique: dict[str, KeySource] = {}
    for source in candidates:
        unique.setdefault(source.name, source)
    return list(unique.values())


def _save_secret(ctx: Context, secret: bytes, target: KeySource) -> None:
    from sync.secret import save_secret

    save_secret(ctx.config.crm, ctx.data_dir, secret, target)


def _reseal_secret(
    ctx: Context, secret: bytes | None, sealed_by: str | None, target: KeySource
) -> str:
    if ctx.config.crm.device_secret:
        return "in the configuration (crm.device_secret): nothing to re-seal"
    if secret is None:
        return "none (the kiosk is not provisioned)"
    if target.name == "hub":
        return "in clear, as the hub source keeps it (it asks the hub for the key)"
    if sealed_by == target.name:
        return f"sealed with '{target.name}' already"
    _save_secret(ctx, secret, target)
    return f"re-sealed with '{target.name}'" + (
        f" (was '{sealed_by}')" if sealed_by else " (was in clear)"
    )


def _secret_state(ctx: Context, tried: list[KeySource]) -> str:
    try:
        secret, sealed_by = _read_secret(ctx, tried)
    except DataKeyUnavailable:
        return "sealed, and opens with no key source here"
    except (OSError, ValueError) as exc:
        return f"cannot be read ({type(exc).__name__})"
    if ctx.config.crm.device_secret:
        return "in the configuration (crm.device_secret)"
    if secret is None:
        return "none"
    return f"sealed with '{sealed_by}'" if sealed_by else "in clear"


# -- backups -----------------------------------------------------------------------------------


def _backups(data_dir: Path) -> list[Path]:
    folder = data_dir / "backups"
    return sorted(folder.glob(BACKUP_GLOB)) if folder.is_dir() else []


def _backup_sources(data_dir: Path) -> dict[str, str]:
    """Each backup's file name -> `wrapped by 'X'`, or what is wrong with it."""
    found = {}
    for path in _backups(data_dir):
        try:
            conn = open_existing(path)
            try:
                stored = stored_key(conn)
            finally:
                conn.close()
            found[path.name] = f"wrapped by '{stored['source']}'" if stored else "no data key"
        except sqlite3.Error as exc:
            found[path.name] = f"unreadable ({exc})"
    return found


def _rewrap_backups(ctx: Context, target: KeySource, result: Rotation) -> None:
    def source_named(name: str) -> KeySource:
        if name == target.name:
            return target
        if name == "file" and not (ctx.data_dir / KEY_FILENAME).exists():
            raise DataKeyUnavailable(reason=f"the key file {KEY_FILENAME} is gone")
        return _source_named(ctx, name)

    labels = {
        "rewrapped": f"re-wrapped for '{target.name}'",
        "already": f"wrapped by '{target.name}' already",
        "no key": "from before sealing (sealed when next opened)",
    }
    for path in _backups(ctx.data_dir):
        try:
            outcome = labels[rewrap_copy(path, source_named, target)]
        except DataKeyUnavailable as exc:
            outcome = "not re-wrapped"
            result.problems.append(f"backup {path.name}: {exc.params.get('reason', exc)}")
        except sqlite3.Error as exc:
            outcome = "not re-wrapped"
            result.problems.append(f"backup {path.name}: {exc}")
        result.backups[path.name] = outcome


# -- sources -----------------------------------------------------------------------------------


def _target(ctx: Context, setting: str, stored: str | None) -> KeySource:
    """The source a rotation moves the key to. `auto`: the board's OTP key when it has one
    programmed, else the source the database has (the hub's stays the hub's), else the
    local key file."""
    if setting == "auto":
        if otp_available():
            return _source_named(ctx, "otp")
        return _source_named(ctx, "hub" if stored == "hub" else "file")
    return _source_named(ctx, setting)


def _source_named(ctx: Context, name: str) -> KeySource:
    """The source that a stored data key names."""
    if name == "hub":
        configured = ctx.appliance.key_source()
        if configured.name == "hub":
            return configured
        from sync.storage_key import HubKey

        return HubKey(ctx.config, ctx.data_dir, ctx.appliance.crm_client)
    if name == "file":
        return LocalKeyFile(ctx.data_dir / KEY_FILENAME)
    if name == "otp":
        found = resolve("otp", ctx.data_dir)
        assert not isinstance(found, str)
        return found
    raise DataKeyUnavailable(reason=f"the data key names an unknown key source '{name}'")


def _database(ctx: Context) -> Path:
    path = database_path(ctx.data_dir)
    if not path.exists():
        raise StorageUnavailable(
            reason=f"there is no kiosk database in {ctx.data_dir} (check --data-dir)"
        )
    return path


def _services_running() -> list[str]:
    """The kiosk's services that run now (they hold the data key in memory)."""
    from kiosk.appliance.doctor.context import run_command

    if not (RUN_DIR / "systemd" / "system").is_dir():  # sd_booted(3)
        return []
    answer = run_command(["systemctl", "is-active", *_SERVICES])
    if answer is None:
        return []
    states = answer.stdout.split()
    return [name for name, state in zip(_SERVICES, states, strict=False) if state in _RUNNING]


def _kinds(counts: dict[str, int] | None) -> str:
    if not counts:
        return ""
    names = {
        "people": "people",
        "cards": "cards",
        "staff": "staff names",
        "pins": "PIN hashes",
        "meta": "fingerprint key",
    }
    return " (" + ", ".join(f"{names[k]} {n}" for k, n in counts.items()) + ")"


def _tally(values: Any) -> dict[str, int]:
    tally: dict[str, int] = {}
    for value in values:
        tally[value] = tally.get(value, 0) + 1
    return tally
