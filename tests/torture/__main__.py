"""Run the reliability and security campaign: `python -m tests.torture [--short] [--doc PATH]`.

Every part runs in a scratch folder of its own, prints its figures, and returns the log
files its processes wrote. Then every log line of the campaign (those files, and every
record logged in this process) is scanned for the phone numbers and card UIDs the
campaign used (read back from every kiosk database it made, in every form a log could
show them) and for anything shaped like one. The figures go to docs/reliability.md
(`--doc`), with the command to rerun them. Exit 1 when any part failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kiosk.appliance.logs import redact
from kiosk.core.store.members import CARD_UID, PERSON
from kiosk.core.store.vault import default_key_source, install
from tests.torture import crash, network, storage
from tests.torture.common import Report, Scale

PARTS: dict[str, Callable[[Scale, Path], Report]] = {
    "crash": crash.run,
    "storage": storage.run,
    "network": network.run,
}
try:  # the fuzzing part runs pytest on tests/fuzz/
    from tests.torture import fuzz

    PARTS["fuzz"] = fuzz.run
except ImportError:  # pragma: no cover - only while it is being written
    pass
PARTS["security"] = lambda scale, work: _pytest_part(
    "security",
    work,
    [
        "tests/test_security.py",
        "tests/test_sim_crm.py",
        "tests/test_staff.py",
        "tests/test_client_limits.py",
        "tests/test_sync_worker.py::test_tls_is_verified_and_a_private_ca_is_an_option",
    ],
)
PARTS["privacy"] = lambda scale, work: _pytest_part(
    "privacy",
    work,
    [
        "tests/test_privacy.py",
        "tests/test_erasure.py",
        "tests/test_members.py",
        "tests/test_sync_pull.py",
        "tests/ui/test_privacy_ui.py",
        "tests/test_sync_worker.py::test_members_changed_here_reach_the_crm_and_erasure_too",
    ],
)

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.torture", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the quick run (as in make test)")
    parser.add_argument("--doc", metavar="PATH", help="write the figures there (markdown)")
    parser.add_argument("--only", action="append", choices=sorted(PARTS), help="run these")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    scale: Scale = "short" if args.short else "full"
    work = Path(tempfile.mkdtemp(prefix="kiosk-torture-"))
    captured = work / "campaign.log"
    handler = logging.FileHandler(captured, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    reports: list[Report] = []
    started = time.perf_counter()
    try:
        for name in args.only or list(PARTS):
            print(f"== {name} ({scale})", flush=True)
            folder = work / name
            folder.mkdir()
            begun = time.perf_counter()
            try:
                report = PARTS[name](scale, folder)
            except Exception as exc:  # a part that breaks is a failed part, not a crash
                logging.getLogger(__name__).exception("part %s raised", name)
                report = Report(name)
                report.fail(f"the part raised {type(exc).__name__}: {exc}")
            report.seconds = report.seconds or time.perf_counter() - begun
            reports.append(report)
            _print(report)
        handler.flush()
        scan = scan_logs(work, [captured, *(log for r in reports for log in r.logs)])
        reports.append(scan)
        _print(scan)
    finally:
        root.removeHandler(handler)
        handler.close()
    total = time.perf_counter() - started
    if args.doc:
        write_doc(Path(args.doc), reports, scale, total, args.only)
        print(f"written: {args.doc}")
    if args.keep:
        print(f"scratch folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    ok = all(r.ok for r in reports)
    print("campaign: " + ("all parts held" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


def _print(report: Report) -> None:
    state = "ok" if report.ok else "FAILED"
    print(f"   {report.name}: {state} in {report.seconds:.1f} s", flush=True)
    for key, value in report.figures.items():
        print(f"     {key}: {value}", flush=True)
    for problem in report.problems:
        print(f"     PROBLEM: {problem}", flush=True)


# -- parts that are test files ------------------------------------------------------------


def _pytest_part(name: str, work: Path, targets: list[str]) -> Report:
    """Run test files as one part of the campaign: counts of checks passed and failed."""
    import subprocess

    report = Report(name)
    junit = work / "junit.xml"
    log = work / "pytest.log"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            f"--junitxml={junit}",
            "-p",
            "no:cacheprovider",
            *targets,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    log.write_text(run.stdout + run.stderr, encoding="utf-8")
    report.logs.append(log)
    text = junit.read_text(encoding="utf-8") if junit.exists() else ""
    counts = {
        k: int(v) for k, v in re.findall(r'(tests|failures|errors|skipped)="(\d+)"', text)[:4]
    }
    report.figures.update(
        {
            "checks run": counts.get("tests", 0),
            "failed": counts.get("failures", 0) + counts.get("errors", 0),
            "skipped": counts.get("skipped", 0),
            "files": ", ".join(t.split("::")[0].removeprefix("tests/") for t in targets),
        }
    )
    if run.returncode != 0:
        report.fail(f"pytest exited {run.returncode}: see {log}")
    return report


# -- the log scan --------------------------------------------------------------------------


def scan_logs(work: Path, logs: list[Path]) -> Report:
    """Every log line of the campaign against the personal data it used, and the masker."""
    report = Report("log scan")
    phones, uids = personal_data(work)
    needles = sorted(phones | uids, key=len, reverse=True)
    lines = hits = shaped = 0
    seen_files = 0
    for path in {p for p in logs if p.exists()}:
        seen_files += 1
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            lines += 1
            lowered = line.lower()
            if any(n.lower() in lowered for n in needles):
                hits += 1
                if hits <= 3:
                    report.fail(f"{path.name}: a phone number or card UID: {redact(line)[:120]}")
            elif redact(line) != line:
                shaped += 1
                if shaped <= 3:
                    report.fail(f"{path.name}: something shaped like one: {redact(line)[:120]}")
    in_clear = databases_in_clear(work, needles)
    for name in in_clear[:3]:
        report.fail(f"{name}: a phone number or card UID in clear (sealed at rest: issue 16)")
    report.figures.update(
        {
            "log files": seen_files,
            "log lines scanned": lines,
            "phone numbers and card UIDs looked for": len(needles),
            "lines with personal data": hits,
            "lines with something shaped like it": shaped,
            "database files scanned (with WAL and backups)": len(database_files(work)),
            "database files with personal data in clear": len(in_clear),
        }
    )
    return report


def database_files(work: Path) -> list[Path]:
    """Every kiosk database of the campaign, its WAL and its backups (not the CRMs')."""
    found = [*work.rglob("kiosk.db"), *work.rglob("kiosk.db-wal"), *work.rglob("kiosk-*.db")]
    return sorted(p for p in found if p.is_file())


def databases_in_clear(work: Path, needles: list[str]) -> list[str]:
    """The kiosk database files (as `strings` would read them) holding a phone or card id.

    As stored (card ids upper case): in lower case a 10-hex-digit id is found by chance in
    the file's lower-case hashes and ids about once a campaign.
    """
    forms = [n.encode() for n in needles]
    return [
        str(path.relative_to(work))
        for path in database_files(work)
        if any(form in path.read_bytes() for form in forms)
    ]


def personal_data(work: Path) -> tuple[set[str], set[str]]:
    """The phones (every written form) and card UIDs in every kiosk database under `work`."""
    phones: set[str] = set()
    uids: set[str] = set()
    for db in work.rglob("kiosk.db"):
        try:
            conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
            install(conn, default_key_source(db.parent))  # sealed at rest: opened here
            try:
                for (person,) in conn.execute(f"SELECT {PERSON} FROM people p"):
                    phone = json.loads(person)["phone"]
                    digits = str(phone).lstrip("+")
                    local = "0" + digits[2:] if digits.startswith("98") else digits
                    phones |= {str(phone), digits, local, local[1:]}
                for (uid,) in conn.execute(f"SELECT {CARD_UID} FROM cards c"):
                    uids.add(str(uid))
            finally:
                conn.close()
        except sqlite3.Error:
            continue
    return {p for p in phones if len(p) >= 9}, {u for u in uids if len(u) >= 8}


# -- docs/reliability.md ---------------------------------------------------------------------


def write_doc(
    path: Path, reports: list[Report], scale: Scale, seconds: float, only: list[str] | None
) -> None:
    command = (
        "make torture"
        if scale == "full" and not only
        else (
            "python -m tests.torture"
            + (" --short" if scale == "short" else "")
            + "".join(f" --only {o}" for o in only or [])
        )
    )
    lines = [
        "# Reliability and security: the campaign's figures",
        "",
        f"Written by `{command}` (`python -m tests.torture --doc docs/reliability.md`) on "
        f"{datetime.now(UTC):%Y-%m-%d}, {scale} run, {seconds / 60:.1f} minutes, "
        f"Python {platform.python_version()} on {platform.machine()} "
        f"({'all parts held' if all(r.ok for r in reports) else 'SOME PARTS FAILED'}). "
        "The short run of every part is also in `make test`.",
        "",
        *headline(reports),
        "| part | held | seconds |",
        "|---|---|---|",
        *[f"| {r.name} | {'yes' if r.ok else 'NO'} | {r.seconds:.0f} |" for r in reports],
        "",
    ]
    for report in reports:
        lines += [f"## {report.name}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in report.figures.items()]
        lines += [f"| problem | {p} |" for p in report.problems]
        lines.append("")
    lines += DEFECTS
    lines += fuzz_defects()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def headline(reports: list[Report]) -> list[str]:
    """The figures the issue asks for, gathered from the parts."""
    f = {r.name: r.figures for r in reports}

    def get(part: str, key: str, default: object = "-") -> object:
        return f.get(part, {}).get(key, default)

    storage_kinds = {
        k.split(":")[0]: v for k, v in f.get("storage", {}).items() if "faults / refused" in k
    }
    network_kinds = {
        k.removeprefix("chaos_faults_"): v
        for k, v in f.get("network", {}).items()
        if k.startswith("chaos_faults_") and k != "chaos_faults_injected"
    }
    lost = sum(
        int(str(get(p, k, 0))) for p, k in (("crash", "lost"), ("network", "chaos_entries_lost"))
    )
    doubled = sum(
        int(str(get(p, k, 0)))
        for p, k in (("crash", "duplicated"), ("network", "chaos_entries_duplicated"))
    )
    return [
        "| the figure the issue asks for | value |",
        "|---|---|",
        f"| kills survived (store day or sync worker SIGKILLed) | {get('crash', 'kills')} |",
        "| storage faults injected, by kind (injected / refused / recovered) | "
        + ", ".join(f"{k} {v}" for k, v in storage_kinds.items())
        + " |",
        "| network faults injected, by kind | "
        + ", ".join(f"{k} {v}" for k, v in network_kinds.items())
        + f" (total {get('network', 'chaos_faults_injected')}) |",
        f"| bad inputs tried | {get('fuzz', 'inputs_tried')} |",
        f"| entries lost | {lost} |",
        f"| entries duplicated | {doubled} |",
        f"| log lines scanned / with personal data | {get('log scan', 'log lines scanned')} / "
        f"{get('log scan', 'lines with personal data')} |",
        "",
    ]


def fuzz_defects() -> list[str]:
    """The defects fuzzing found (tests/fuzz/defects.py keeps them; their tests are beside it)."""
    try:
        from tests.fuzz.defects import KNOWN_DEFECTS
    except ImportError:  # pragma: no cover
        return []
    rows = [
        "### Found by fuzzing (`tests/fuzz/`)",
        "",
        "| defect (as found) | fixed | guarded by |",
        "|---|---|---|",
    ]
    for defect in KNOWN_DEFECTS.values():
        what = defect.reason.replace("|", "\\|")
        rows.append(f"| {what} | {'yes' if defect.fixed else 'NO'} | `{defect.test}` |")
    return [*rows, ""]


DEFECTS = [
    "## Defects the campaign found, and the tests that now guard them",
    "",
    "| defect | fixed in | guarded by |",
    "|---|---|---|",
    "| The write probe was rolled back in SQLite's page cache, so it saw no full disk or "
    'I/O error; the app left "out of service" while nothing could be recorded | '
    "`kiosk/core/store/settings.py` (the probe commits and deletes a real write) | "
    "`tests/test_storage_faults.py::test_the_write_probe_sees_an_io_error`, "
    "`...sees_a_full_disk`, `tests/ui/test_storage_faults_ui.py` |",
    "| After a crash on a read-only medium SQLite opened the database read-only without a "
    "word; that connection stayed unwritable after the medium came back | `kiosk/core/store/db.py` "
    "(connect tries a write and refuses such a connection; systemd restarts) | "
    "`tests/test_storage_faults.py::test_a_kiosk_started_on_a_read_only_medium_is_refused_"
    "until_it_is_writable` |",
    '| A COMMIT whose fsync failed said "Nothing was recorded", though SQLite may keep it '
    "after a power cut (a cashier would enter the purchase twice) | `kiosk/core/store/db.py`, "
    "`kiosk/errors.py` (StorageUncertain; the screen says to check first) | "
    "`tests/test_storage_faults.py::test_an_earn_refused_at_its_commit_says_it_may_have_"
    "been_recorded` |",
    "| The touch app and `kiosk sync` opening a new database together both ran the "
    "migrations; one failed (about half the trials) | `kiosk/core/store/db.py` (a file lock) | "
    "`tests/test_first_boot.py` |",
    "| The log masker took times (11:44:05) for card UIDs | `kiosk/appliance/logs.py` | "
    "`tests/test_logs.py` |",
    "| A CRM answer that trickled a byte at a time could hold a push for ever; a 20 MiB "
    "answer was read into memory; a push answer without `high_water` raised KeyError out "
    "of the worker | `sync/client.py` (deadline, 16 MiB cap, answers checked) | "
    "`tests/test_client_limits.py`, the network part |",
    '| `push_now()` after each sale during a slow push made APScheduler log "skipped" each '
    "time; a cycle ending during shutdown could deadlock | `sync/background.py` | "
    "the network part (`counter`) |",
    "| The simulated CRM dropped connections on malformed bodies, answered 413 before "
    "reading the body, took `'²'` as a digit, stored unchecked entries (11 cases) | "
    "`sim/crm.py`, `sim/crm_checks.py`, `sync/signing.py` | `tests/test_sync_openapi.py` |",
    "| A rejection was lost when the answer carrying it was lost | `sim/crm_store.py` "
    "(a duplicate of a rejected entry is rejected again) | "
    "`tests/test_sync_worker.py::test_a_rejection_whose_answer_was_lost_is_flagged_after_"
    "the_retry` |",
    "| A device secret readable by others was used | `sync/worker.py` (refused, with the "
    "chmod to run) | `tests/test_security.py` |",
    "| Withdrawing SMS consent was possible only from the CLI | the member screen (one tap) "
    "| `tests/ui/test_privacy_ui.py` |",
    "",
]


if __name__ == "__main__":
    sys.exit(main())
