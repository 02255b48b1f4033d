"""Crash torture: the core service and the sync worker as two processes, killed at random.

The simulated CRM runs here, on loopback, storing in `work/crm.db`. Two children share the
kiosk's database in `work/data`, as the touch app and `kiosk sync` do on a device:

- the store day (`tests/torture/store_day.py`): enrollments, purchases, redemptions,
  voids and look-ups from a script, each under its own client transaction id; it prints
  `ack` with the entry ids once the service has returned;
- the sync worker: `kiosk sync`, pushing every second in batches of 20.

Each round restarts whatever is not running, waits for a moment chosen at random (a
number of acknowledged steps, the start of a step's transaction, a push arriving at the
CRM, a push just stored there and not yet answered) and SIGKILLs the store day, the
worker or both. After every kill:

- every entry the store day was told about (`ack`) is in the kiosk's `entries`;
- `PRAGMA integrity_check` is ok and `kiosk.core.store.verify.verify_ledger` finds nothing;
- the CRM holds every entry once (no entry id twice, no client transaction id twice),
  rejected none, holds nothing the kiosk does not have and each as the kiosk has it;
- every entry the kiosk took out of its outbox is at the CRM;
- the store day found the same answers again for steps it asked twice.

At the end the worker drains the queue (`kiosk sync --once`), `kiosk ledger verify`
passes, and the CRM's ledger equals the kiosk's entry for entry (every field), with the
same balance for every member. All of it follows from `seed`.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from kiosk.bootstrap import Appliance
from kiosk.core.store.ledger import Entry
from kiosk.core.store.verify import verify_ledger
from sim.crm import CrmServer
from sim.crm_store import CrmStore, PushResult
from sync.worker import save_secret
from tests.torture.common import Report, Scale
from tests.torture.store_day import load

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "kiosk-torture"
KILLS: dict[str, int] = {"short": 20, "full": 200}
SEED = 20261123
KIOSK = (sys.executable, "-m", "kiosk.cli")  # the `kiosk` command, as installed
PACE_MS = 6  # the most a scripted step waits before it starts
WAIT = 30.0  # a safety limit on every wait, never a pace
ENTRY_FIELDS = tuple(f.name for f in fields(Entry))
# What to wait for before a kill, by who is killed.
TRIGGERS = {
    "store_day": ("acks", "begins"),
    "worker": ("push_arrives", "push_stored", "acks"),
    "both": ("acks", "begins", "push_arrives", "push_stored"),
}


class Watch:
    """Counts the pushes arriving at the CRM and the pushes it has stored; waits on them."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.counts: Counter[str] = Counter()

    def bump(self, what: str, by: int = 1) -> None:
        with self._changed:
            self.counts[what] += by
            self._changed.notify_all()

    def heard(self, path: str) -> None:
        """CrmServer.on_request: a request arrived (before it is handled)."""
        if path == "/v2/push":
            self.bump("push_arrives")

    def count(self, what: str) -> int:
        with self._changed:
            return self.counts[what]

    def wait(self, what: str, target: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.counts[what] >= target, timeout)


class WatchedStore(CrmStore):
    """The simulated CRM's store, telling the watch once a push is stored (not yet answered)."""

    def __init__(self, path: Path, watch: Watch) -> None:
        super().__init__(path)
        self.watch = watch

    def push(
        self,
        device_id: str,
        members: list[dict[str, Any]],
        entries: list[dict[str, Any]],
        chain_head: object = None,
    ) -> PushResult:
        result = super().push(device_id, members, entries, chain_head)
        self.watch.bump("duplicates_answered", result.duplicates)
        self.watch.bump("push_stored")
        return result


@dataclass
class Tally:
    """What the store day said, over all its lives (its reader threads write here)."""

    acked: set[str] = field(default_factory=set)  # entry ids
    steps: set[int] = field(default_factory=set)  # steps acknowledged
    new: int = 0
    replayed: int = 0  # steps in flight at a kill, found committed when run again
    asked_again: int = 0  # acknowledged steps asked again at a start, same answer
    refused: Counter[str] = field(default_factory=Counter)  # by the error's key
    mismatches: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hear(self, words: list[str]) -> None:
        with self.lock:
            if words[0] == "ack":
                self.acked.update(words[3:])
                self.steps.add(int(words[1]))
                if words[2] == "new":
                    self.new += 1
                else:
                    self.replayed += 1
            elif words[0] == "again":
                self.acked.update(words[2:])
                self.asked_again += 1
            elif words[0] == "refused":
                self.refused[words[2].removeprefix("error.")] += 1
            elif words[0] in {"mismatch", "balance"}:
                self.mismatches.append(f"{words[0]} at step {words[1]}")

    def snapshot(self) -> set[str]:
        with self.lock:
            return set(self.acked)


class StoreDay:
    """One life of the store-day process, its stdout read line by line on a thread."""

    def __init__(self, argv: list[str], env: dict[str, str], log: IO[str], tally: Tally) -> None:
        self.tally = tally
        self.lines: queue.Queue[list[str] | None] = queue.Queue()
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )
        self.thread = threading.Thread(target=self._read, name="store-day-out", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.endswith("\n"):
                continue  # cut by the kill: not a whole answer
            words = line.split()
            self.tally.hear(words)
            self.lines.put(words)
        self.lines.put(None)

    def forget_lines(self) -> None:
        while True:
            try:
                self.lines.get_nowait()
            except queue.Empty:
                return

    def wait_lines(self, what: str, k: int) -> bool:
        """Until k more `ack ... new` (what="acks") or `begin` lines; False if it died."""
        deadline = time.monotonic() + WAIT
        seen = 0
        while seen < k:
            try:
                words = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if words is None:
                return False
            if (what == "acks" and words[0] == "ack" and words[2] == "new") or (
                what == "begins" and words[0] == "begin"
            ):
                seen += 1
        return True

    def finish(self) -> None:
        self.proc.wait(WAIT)
        self.thread.join(WAIT)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@dataclass
class Kiosk:
    """A consistent read of the kiosk's database."""

    entries: dict[str, tuple[Any, ...]]  # entry id -> ENTRY_FIELDS
    outbox: dict[str, str]  # entry id -> state
    balances: dict[str, int]
    problems: list[str]
    integrity: str


def read_kiosk(path: Path) -> Kiosk | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(path, timeout=WAIT)
    try:
        conn.execute("BEGIN")  # one snapshot for every query below
        entries = {
            row[0]: tuple(row)
            for row in conn.execute(f"SELECT {', '.join(ENTRY_FIELDS)} FROM entries ORDER BY seq")
        }
        outbox = dict(conn.execute("SELECT entry_id, state FROM outbox").fetchall())
        balances = dict(conn.execute("SELECT member_id, balance FROM members").fetchall())
        problems = verify_ledger(conn).problems
        integrity = "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Kiosk(entries, outbox, balances, problems, integrity)


@dataclass
class CrmEntry:
    entry_id: str
    seq: int
    status: str
    code: str | None
    data: dict[str, Any]


def read_crm(conn: sqlite3.Connection) -> list[CrmEntry]:
    return [
        CrmEntry(row[0], row[1], row[2], row[3], json.loads(row[4]))
        for row in conn.execute(
            "SELECT entry_id, seq, status, code, data FROM entries WHERE device_id = ? "
            "ORDER BY seq",
            (DEVICE,),
        )
    ]


def as_kiosk_has_it(entry: CrmEntry) -> tuple[Any, ...]:
    return tuple(entry.data.get(name) for name in ENTRY_FIELDS)


class Torture:
    """The run: its children, the CRM, the checks and the figures."""

    def __init__(self, scale: Scale, work: Path, seed: int) -> None:
        self.scale = scale
        self.work = work
        self.seed = seed
        self.rng = random.Random(seed)
        self.report = Report("crash")
        self.data = work / "data"
        self.config_file = work / "kiosk.toml"
        self.state_file = work / "store-day.state"
        self.tally = Tally()
        self.watch = Watch()
        self.crm = CrmServer(WatchedStore(work / "crm.db", self.watch))
        self.crm.on_request = self.watch.heard
        self.crm_read = sqlite3.connect(f"file:{work / 'crm.db'}?mode=ro", uri=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        self.env["KIOSK_CONFIG"] = str(self.config_file)
        names = ("store-day", "sync-worker", "drain", "crm")
        self.logs = {name: work / f"{name}.log" for name in names}
        self.crm.httpd.handle_error = self._crm_error  # type: ignore[method-assign,assignment]
        self.store_day: StoreDay | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.kills: Counter[str] = Counter()
        self.starts: Counter[str] = Counter()
        self.lost: set[str] = set()
        self.duplicated: set[str] = set()
        self.failures: Counter[str] = Counter()
        self.rounds = 0

    def _crm_error(self, _request: object, _client: object) -> None:
        """A CRM connection broke (mostly a worker killed mid-request): logged, counted."""
        with self.logs["crm"].open("a", encoding="utf-8") as log:
            log.write(traceback.format_exc())
        self.watch.bump("connections_cut")

    # -- the children -----------------------------------------------------------------------

    def _log(self, name: str) -> IO[str]:
        handle = self.logs[name].open("a", encoding="utf-8")
        handle.write(f"--- round {self.rounds}: start\n")
        handle.flush()
        return handle

    def start_store_day(self) -> StoreDay:
        argv = [
            sys.executable,
            "-m",
            "tests.torture.store_day",
            str(self.data),
            str(self.config_file),
            str(self.seed),
            f"day{self.seed}",
            str(self.state_file),
            str(PACE_MS),
        ]
        with self._log("store-day") as log:
            self.store_day = StoreDay(argv, self.env, log, self.tally)
        self.starts["store_day"] += 1
        return self.store_day

    def start_worker(self) -> subprocess.Popen[bytes]:
        argv = [*KIOSK, "sync", "--data-dir", str(self.data)]
        with self._log("sync-worker") as log:
            self.worker = subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log
            )
        self.starts["worker"] += 1
        return self.worker

    def kill(self, name: str, proc: subprocess.Popen[Any]) -> None:
        """SIGKILL a child that must still be running; reap it."""
        if proc.poll() is not None:
            self.fail(f"round {self.rounds}: the {name} exited by itself ({proc.returncode})")
            return
        proc.send_signal(signal.SIGKILL)
        proc.wait(WAIT)
        self.kills[name] += 1

    def stop_all(self) -> None:
        if self.store_day is not None:
            if self.store_day.proc.poll() is None:
                self.store_day.proc.kill()
            self.store_day.finish()
            self.store_day = None
        if self.worker is not None:
            if self.worker.poll() is None:
                self.worker.kill()
            self.worker.wait(WAIT)
            self.worker = None

    # -- a round ----------------------------------------------------------------------------

    def round(self) -> bool:
        """Start what is down, wait for a random moment, kill; False when a wait failed."""
        self.rounds += 1
        store_day = self.store_day or self.start_store_day()
        worker = self.worker or self.start_worker()
        victims = self.rng.choices(("store_day", "worker", "both"), weights=(4, 4, 2))[0]
        trigger = self.rng.choice(TRIGGERS[victims])
        self.kills[f"trigger {trigger}"] += 1
        if trigger in {"acks", "begins"}:
            store_day.forget_lines()
            k = self.rng.randint(0 if trigger == "acks" else 1, 30)
            reached = store_day.wait_lines(trigger, k)
        else:
            target = self.watch.count(trigger) + self.rng.randint(1, 3)
            reached = self.watch.wait(trigger, target, WAIT)
        if not reached:
            self.fail(f"round {self.rounds}: waited {WAIT:.0f} s in vain for {trigger}")
        if victims in {"store_day", "both"}:
            self.kill("store_day", store_day.proc)
            store_day.finish()
            self.store_day = None
        if victims in {"worker", "both"}:
            self.kill("worker", worker)
            self.worker = None
        self.check(f"round {self.rounds} ({victims} killed at {trigger})")
        return reached

    # -- the checks -------------------------------------------------------------------------

    def fail(self, problem: str) -> None:
        if len(self.report.problems) < 50:
            self.report.fail(problem)
        else:
            self.report.ok = False

    def check(self, when: str) -> Kiosk | None:
        acked = self.tally.snapshot()  # each was committed before it was printed
        held = read_crm(self.crm_read)  # each was committed here before it was pushed
        kiosk = read_kiosk(self.data / "kiosk.db")
        held_after = {entry.entry_id for entry in read_crm(self.crm_read)}
        entries = kiosk.entries if kiosk else {}
        lost = acked - entries.keys()
        if lost - self.lost:
            self.fail(
                f"{when}: {len(lost - self.lost)} acknowledged entries lost: {sorted(lost)[:3]}"
            )
        self.lost |= lost
        if kiosk is not None:
            if kiosk.problems:
                self.failures["verify"] += 1
                self.fail(f"{when}: ledger verify: {kiosk.problems[:3]}")
            if kiosk.integrity != "ok":
                self.failures["integrity"] += 1
                self.fail(f"{when}: integrity_check: {kiosk.integrity[:200]}")
            flagged = [entry_id for entry_id, state in kiosk.outbox.items() if state != "pending"]
            if flagged:
                self.fail(f"{when}: the kiosk flagged {len(flagged)} entries as rejected")
            gone = entries.keys() - kiosk.outbox.keys() - held_after
            if gone:
                self.lost |= gone
                self.fail(f"{when}: {len(gone)} entries left the outbox but are not at the CRM")
        self.check_crm(when, held, entries)
        mismatches = self.tally.mismatches
        if mismatches:
            self.fail(f"{when}: the store day saw wrong answers: {mismatches[:5]}")
            mismatches.clear()
        return kiosk

    def check_crm(
        self, when: str, held: list[CrmEntry], entries: dict[str, tuple[Any, ...]]
    ) -> None:
        ids = Counter(entry.entry_id for entry in held)
        txns = Counter(
            entry.data.get("client_txn_id")
            for entry in held
            if entry.status == "stored" and entry.data.get("client_txn_id")
        )
        doubled = {key for key, n in ids.items() if n > 1}
        doubled |= {str(key) for key, n in txns.items() if n > 1}
        if doubled - self.duplicated:
            self.fail(f"{when}: the CRM holds twice: {sorted(doubled - self.duplicated)[:3]}")
        self.duplicated |= doubled
        rejected = [f"{e.seq}:{e.code}" for e in held if e.status != "stored"]
        if rejected:
            self.fail(f"{when}: the CRM rejected {len(rejected)} entries: {rejected[:3]}")
        ghosts = [e.entry_id for e in held if e.entry_id not in entries]
        if ghosts:
            self.fail(f"{when}: the CRM holds {len(ghosts)} entries the kiosk has not")
        differ = [
            e.seq
            for e in held
            if e.entry_id in entries and as_kiosk_has_it(e) != entries[e.entry_id]
        ]
        if differ:
            self.fail(f"{when}: {len(differ)} entries differ at the CRM, seq {differ[:5]}")

    # -- the end ----------------------------------------------------------------------------

    def drain(self) -> bool:
        """`kiosk sync --once` until the queue is empty (a few tries); then its status."""
        command = [*KIOSK, "sync", "--data-dir", str(self.data)]
        with self.logs["drain"].open("a", encoding="utf-8") as log:
            for _ in range(5):
                done = subprocess.run(
                    [*command, "--once", "--json"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    timeout=120,
                    check=False,
                )
                if done.returncode == 0:
                    break
            status = subprocess.run(
                [*command, "status", "--json"],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            log.write(status.stderr)
        depth = json.loads(status.stdout)["queue_depth"] if status.returncode == 0 else -1
        self.report.figures["queue_after_drain"] = depth
        if done.returncode != 0 or depth != 0:
            self.fail(f"the queue did not drain: sync --once {done.returncode}, depth {depth}")
            return False
        return True

    def ledger_verify(self) -> None:
        with self.logs["drain"].open("a", encoding="utf-8") as log:
            verified = subprocess.run(
                [*KIOSK, "ledger", "verify", "--json", "--data-dir", str(self.data)],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                timeout=120,
                check=False,
            )
        if verified.returncode != 0:
            self.failures["verify"] += 1
            self.fail(f"kiosk ledger verify exited {verified.returncode} at the end")

    def compare(self, kiosk: Kiosk | None) -> bool:
        """The CRM's ledger against the kiosk's, entry for entry, and every balance."""
        held = read_crm(self.crm_read)
        if kiosk is None:
            self.fail("no kiosk database at the end")
            return False
        theirs = [as_kiosk_has_it(entry) for entry in held]
        ours = list(kiosk.entries.values())
        same = theirs == ours
        if not same:
            self.fail(f"the CRM holds {len(theirs)} entries, the kiosk {len(ours)}, not the same")
        balances = dict(self.crm_read.execute("SELECT member_id, balance FROM balances").fetchall())
        if balances != kiosk.balances:
            same = False
            wrong = [m for m in kiosk.balances if balances.get(m, 0) != kiosk.balances[m]]
            self.fail(f"{len(wrong)} members have another balance at the CRM")
        return same

    def run(self) -> Report:
        started = time.monotonic()
        self.config_file.write_text(
            f'[device]\nid = "{DEVICE}"\n'
            f'[crm]\nurl = "{self.crm.url}"\npush_interval_seconds = 1\nbatch_size = 20\n'
            "backoff_base_seconds = 1\nbackoff_cap_seconds = 2\npull_interval_seconds = 2\n"
            "timeout_seconds = 10\n",
            encoding="utf-8",
        )
        self.crm.start()
        equal = False
        kiosk: Kiosk | None = None
        try:
            secret = self.crm.store.enroll(self.crm.store.new_code(), DEVICE)
            assert secret is not None
            config = load(self.config_file, self.data)
            save_secret(config.crm, self.data, secret)
            # The device id is fixed in the config; the database is made here so that the
            # first round's kill finds a kiosk that has started. (This harness found that two
            # processes opening a new database at once raced in its migrations: fixed in
            # kiosk/core/store/db.py and guarded by tests/test_first_boot.py.)
            Appliance(config, self.data).open_service().close()
            target = KILLS[self.scale]
            # Rounds whose victim had already died count no kill: bounded all the same.
            while self.kills["store_day"] + self.kills["worker"] < target and (
                self.rounds < 3 * target
            ):
                if not self.round():
                    break
            self.stop_all()
            kiosk = self.check("after the last kill")
            if self.drain():
                self.ledger_verify()
                kiosk = self.check("after the drain")
                equal = self.compare(kiosk)
        finally:
            self.stop_all()
            self.crm.stop()
            self.crm_read.close()
        self.read_logs()
        self.report.logs = [path for path in self.logs.values() if path.exists()]
        self.figures(kiosk, equal, time.monotonic() - started)
        return self.report

    def read_logs(self) -> None:
        """The children's own errors: none is expected (a kill leaves no line behind)."""
        warnings = 0
        for name in ("store-day", "sync-worker", "drain"):
            path = self.logs[name]
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            warnings += sum(line.startswith("WARNING") for line in lines)
            errors = [
                line
                for line in lines
                if line.startswith(("ERROR", "CRITICAL", "Traceback", "Fatal"))
            ]
            if errors:
                self.fail(f"{path.name} has {len(errors)} errors, the first: {errors[0][:120]}")
        self.report.figures["warnings_logged"] = warnings

    def figures(self, kiosk: Kiosk | None, equal: bool, seconds: float) -> None:
        held = read_held(self.work / "crm.db")
        state = self.state_file
        steps = len(state.read_text(encoding="ascii").splitlines()) if state.exists() else 0
        self.report.seconds = round(seconds, 1)
        found_on_the_way = dict(self.report.figures)
        self.report.figures = {
            "seed": self.seed,
            "kills": self.kills["store_day"] + self.kills["worker"],
            "kills_of_the_store_day": self.kills["store_day"],
            "kills_of_the_worker": self.kills["worker"],
            "rounds": self.rounds,
            "restarts": self.starts["store_day"] + self.starts["worker"] - 2,
            "kill_moments": ", ".join(
                f"{name.removeprefix('trigger ')} {n}"
                for name, n in sorted(self.kills.items())
                if name.startswith("trigger ")
            ),
            "store_day_steps": steps,
            "entries_written": len(kiosk.entries) if kiosk else 0,
            "entries_acknowledged": len(self.tally.acked),
            "steps_acknowledged": len(self.tally.steps),
            "steps_in_flight_found_committed": self.tally.replayed,
            "steps_asked_again_same_answer": self.tally.asked_again,
            "steps_refused": sum(self.tally.refused.values()),
            "refusals": ", ".join(f"{k} {n}" for k, n in sorted(self.tally.refused.items())),
            "entries_at_the_crm": held,
            "pushes": self.watch.count("push_stored"),
            "duplicates_the_crm_turned_away": self.watch.count("duplicates_answered"),
            "crm_connections_cut": self.watch.count("connections_cut"),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "ledger_verify_failures": self.failures["verify"],
            "integrity_failures": self.failures["integrity"],
            "crm_ledger_equals_kiosk": "yes" if equal else "no",
            "seconds": round(seconds, 1),
            **found_on_the_way,
        }


def read_held(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(
            conn.execute("SELECT COUNT(*) FROM entries WHERE device_id = ?", (DEVICE,)).fetchone()[
                0
            ]
        )
    finally:
        conn.close()


def run(scale: Scale, work: Path, *, seed: int = SEED) -> Report:
    """The crash torture at `scale` in the scratch folder `work` (see the module's text)."""
    work.mkdir(parents=True, exist_ok=True)
    return Torture(scale, work, seed).run()
