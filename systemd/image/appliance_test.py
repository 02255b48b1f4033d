"""`make appliance-test`: the kiosk's image booted in qemu-system-aarch64, installed with
systemd/install.sh as a technician would, and checked on the running system.

    .venv/bin/python systemd/image/appliance_test.py IMAGE [--workdir DIR] [--keep]

It boots a copy of IMAGE (made by systemd/image/build.sh; the image itself is never
written) on QEMU's `virt` machine with the kernel and initrd of the image's own /boot,
a virtio disk, a virtio-gpu display (KMS), the serial console into a log file, and user
networking that only forwards: the VM's SSH to a loopback port of this host, and
10.0.2.100:80 inside the VM to the simulated CRM that this script runs on a loopback port.
The VM has no other network: the Python wheels for aarch64 (downloaded here from the
package index, cached) go in over SSH with the project, and pip in the VM takes them from
that folder (/etc/pip.conf), which stands in for the Pi's network.

Each check prints PASS or FAIL with its reason; the run ends with a summary and the wall
time. docs/appliance-test.md describes the checks. Stdlib only, plus the project's sim/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vm import GUESTFWD, Vm, log, prepare_disk  # noqa: E402
from wheelhouse import wheelhouse  # noqa: E402

from sim.crm import CrmServer  # noqa: E402  (the project's root is put on the path first)
from sim.crm_store import CrmStore  # noqa: E402

KIOSK = "/opt/loyalty-kiosk/venv/bin/kiosk"
AS_SERVICE = f"runuser -u loyalty-kiosk -- {KIOSK}"
APP = "loyalty-kiosk.service"
SYNC = "loyalty-kiosk-sync.service"
FIRSTBOOT = "loyalty-kiosk-firstboot.service"
CARD = "04A1B2C3D4"
PHONE = "09121234567"
CARD_2, PHONE_2 = "04A1B2C3D5", "09121234568"
# Inside the VM: the CRM's loopback address (the kiosk takes plain http:// only to
# loopback), relayed by systemd-socket-proxyd to QEMU's guestfwd address.
VM_CRM = "http://127.0.0.1:8470"


# -- the checks --------------------------------------------------------------------------


class CheckFailed(Exception):
    pass


@dataclass
class Report:
    results: list[tuple[str, bool, str, float]] = field(default_factory=list)

    def last_passed(self) -> bool:
        return bool(self.results) and self.results[-1][1]

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[list[str]]:
        """A check: the body appends its reason to the list, raises CheckFailed to fail."""
        reason: list[str] = []
        begin = time.monotonic()
        log(f"CHECK {name} ...")
        try:
            yield reason
            ok = True
        except (CheckFailed, TimeoutError, RuntimeError, OSError, ValueError) as exc:
            reason.append(str(exc))
            ok = False
        seconds = time.monotonic() - begin
        text = "; ".join(reason)
        self.results.append((name, ok, text, seconds))
        log(f"{'PASS' if ok else 'FAIL'} {name} ({seconds:.0f} s): {text}")


def wait_for(what: str, test: Callable[[], bool], timeout: float, every: float = 3) -> float:
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if test():
            return time.monotonic() - begin
        time.sleep(every)
    raise CheckFailed(f"{what}: not within {timeout:.0f} s")


def main_pid(vm: Vm, unit: str) -> int:
    out = vm.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
    return int(out or 0)


def active(vm: Vm, *units: str) -> bool:
    return vm.run(f"systemctl is-active --quiet {' '.join(units)}").returncode == 0


def must(done: subprocess.CompletedProcess[str], what: str) -> str:
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise CheckFailed(f"{what} failed ({done.returncode}): {' | '.join(tail)}")
    return done.stdout


def copy_tree(vm: Vm, files: list[Path], base: Path, target: str) -> None:
    """Files below base into target in the VM (tar over SSH)."""
    names = b"\0".join(str(p.relative_to(base)).encode() for p in files)
    tar = subprocess.Popen(
        ["tar", "-C", str(base), "--null", "-T", "-", "-cf", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert tar.stdin is not None and tar.stdout is not None
    tar.stdin.write(names)
    tar.stdin.close()
    done = subprocess.run(
        [*vm.ssh_args(), f"mkdir -p {target} && tar -C {target} -xf -"],
        check=False, stdin=tar.stdout, capture_output=True, timeout=900,
    )  # fmt: skip
    tar.wait()
    if done.returncode != 0 or tar.returncode != 0:
        raise CheckFailed(f"copy to {target}: {done.stderr.decode(errors='replace')}")


def project_files() -> list[Path]:
    """What a release copy holds: the committed files and new ones git does not ignore."""
    out = subprocess.check_output(
        ["git", "-C", str(PROJECT), "ls-files", "-z", "-co", "--exclude-standard"]
    )
    return [PROJECT / n for n in out.decode().split("\0") if n and (PROJECT / n).is_file()]


PIP_CONF = """\
# appliance test (systemd/image/appliance_test.py): the VM has no network; pip takes the
# wheels downloaded on the host for aarch64 instead of the package index.
[global]
no-index = true
find-links = /home/technician/wheelhouse
"""

# The VM's end of the CRM relay: the kiosk's http://127.0.0.1:8470 to QEMU's guestfwd.
PROXY_UNITS = f"""\
cat >/etc/systemd/system/appliance-test-crm.socket <<'EOF'
[Socket]
ListenStream=127.0.0.1:8470
[Install]
WantedBy=sockets.target
EOF
cat >/etc/systemd/system/appliance-test-crm.service <<'EOF'
[Service]
ExecStart=/lib/systemd/systemd-socket-proxyd {GUESTFWD}
EOF
systemctl daemon-reload && systemctl enable --now appliance-test-crm.socket
"""


@dataclass
class Run:
    args: argparse.Namespace
    work: Path
    report: Report
    vm: Vm
    crm: CrmServer
    screenshots: Path

    def keep(self, name: str, doc_name: str, reason: list[str]) -> None:
        """A screendump into docs/screenshots/."""
        target = self.screenshots / doc_name
        shutil.copyfile(self.work / f"{name}.png", target)
        reason.append(f"saved as {target.relative_to(PROJECT)}")

    def firstboot_done(self) -> bool:
        """The one-shot ran to its end (inactive before it starts too: the exit time tells)."""
        shown = self.vm.run(
            f"systemctl show -p ActiveState,ExecMainExitTimestampMonotonic {FIRSTBOOT}"
        ).stdout
        fields = dict(line.partition("=")[::2] for line in shown.split())
        return fields.get("ActiveState") == "failed" or (
            fields.get("ActiveState") == "inactive"
            and fields.get("ExecMainExitTimestampMonotonic", "0") != "0"
        )

    def install(self, label: str) -> str:
        done = self.vm.run(
            "cd ~/loyalty-kiosk && sudo systemd/install.sh 2>&1",
            timeout=self.args.install_timeout,
            as_root=False,
        )
        (self.work / f"{label}.log").write_text(done.stdout + done.stderr)
        must(done, f"install.sh ({label}.log)")
        return done.stdout

    def checks(self) -> None:
        vm, report = self.vm, self.report
        with report.check("boot: the image's system comes up, SSH answers") as reason:
            seconds = vm.wait_ssh(self.args.boot_timeout)
            system = vm.run(
                "systemctl is-system-running; uname -r; . /etc/os-release; echo $PRETTY_NAME"
            ).stdout.split()
            reason.append(f"SSH after {seconds:.0f} s; {' '.join(system)}")
        if not report.last_passed():
            return
        if vm.run(f"systemctl cat {FIRSTBOOT}").returncode == 0:
            with report.check(
                "first boot installs the kiosk (install.sh, the image's copy)"
            ) as reason:
                seconds = wait_for("the first-boot install to end", self.firstboot_done,
                                   self.args.install_timeout, 15)  # fmt: skip
                journal = vm.run(f"journalctl -b -u {FIRSTBOOT} -o cat --no-pager").stdout
                (self.work / "install-firstboot.log").write_text(journal)
                result = vm.run(f"systemctl show -p Result,ExecMainStatus --value {FIRSTBOOT}")
                summary = [ln.strip() for ln in journal.splitlines() if "changed," in ln]
                reason.append(f"done {seconds:.0f} s after SSH; {' '.join(result.stdout.split())}; "
                              f"{' '.join(summary)}")  # fmt: skip
                if not result.stdout.startswith("success"):
                    raise CheckFailed("install.sh failed (install-firstboot.log)")
        with report.check("install.sh as a technician runs it") as reason:
            copy_tree(vm, project_files(), PROJECT, "loyalty-kiosk")
            wheels = sorted(p for p in self.args.wheelhouse.iterdir() if p.name != ".done")
            copy_tree(vm, wheels, self.args.wheelhouse, "wheelhouse")
            must(vm.run(f"cat >/etc/pip.conf <<'EOF'\n{PIP_CONF}EOF"), "pip.conf")
            begin = time.monotonic()
            out = self.install("install-1")
            summary = [ln.strip() for ln in out.splitlines() if "changed," in ln]
            reason.append(f"{time.monotonic() - begin:.0f} s; {' '.join(summary)}")
        if not report.last_passed():
            return
        with report.check("both services active under systemd, Type=notify") as reason:
            wait_for("loyalty-kiosk and -sync active", lambda: active(vm, APP, SYNC), 600, 5)
            shown = vm.run(f"systemctl show -p Id,Type,ActiveState,WatchdogUSec {APP} {SYNC}")
            reason.append(" ".join(shown.stdout.split()))
            if shown.stdout.count("Type=notify") != 2:
                raise CheckFailed(f"not both Type=notify: {shown.stdout}")
        with report.check("the app draws on the KMS display (screendump)") as reason:
            # The image's first boot: the setup screen (hub address and code); a kiosk
            # installed by hand: the attract screen.
            picture = vm.screendump("first-screen")
            colours = picture.colours()
            reason.append(f"{picture.width}x{picture.height}, {colours} colours")
            if colours < 8:
                # Give a slow software renderer a minute more.
                time.sleep(60)
                picture = vm.screendump("first-screen")
                colours = picture.colours()
                reason.append(f"a minute later {colours} colours")
            if colours < 8:
                # What the display shows (the plane's framebuffer and who made it), and
                # whether it changes: a drawing app flips between framebuffers.
                state = "mount -t debugfs none /sys/kernel/debug 2>/dev/null; grep -m2 -E "
                state += "'fb=[1-9]|allocated by' /sys/kernel/debug/dri/0/state | xargs"
                first = vm.run(state).stdout.strip()
                time.sleep(10)
                later = vm.run(state).stdout.strip()
                raise CheckFailed(f"the screen is blank; plane: {first}, 10 s later: {later}")
            self.keep("first-screen", "appliance-first-boot.png", reason)
        self.card_and_push()
        self.watchdogs()
        with report.check("reboot brings everything back") as reason:
            vm.run("systemctl reboot", timeout=30)
            time.sleep(20)
            seconds = vm.wait_ssh(self.args.boot_timeout)
            wait_for("both services active again", lambda: active(vm, APP, SYNC), 600, 5)
            # The first screen after a start must show (not only after a change).
            drawn = wait_for(
                "the attract screen after the reboot",
                lambda: vm.screendump("after-reboot").colours() >= 8, 180, 10,
            )  # fmt: skip
            reason.append(f"SSH after {seconds:.0f} s, services active, "
                          f"the screen drawn {drawn:.0f} s later")  # fmt: skip
        with report.check("second install.sh run changes nothing") as reason:
            pids = (main_pid(vm, APP), main_pid(vm, SYNC))
            out = self.install("install-2")
            summary = [ln.strip() for ln in out.splitlines() if "changed," in ln]
            reason.append(" ".join(summary))
            if not summary or not summary[0].startswith("0 changed"):
                raise CheckFailed(f"changed something: {summary}")
            if (main_pid(vm, APP), main_pid(vm, SYNC)) != pids:
                raise CheckFailed("the services were restarted")
        with report.check("kiosk doctor with the real systemctl") as reason:
            done = vm.run(f"{KIOSK} doctor --json", timeout=300)
            (self.work / "doctor.json").write_text(done.stdout + done.stderr)
            results = doctor_results(done.stdout)
            reason.append(", ".join(f"{c['name']}={c['status']}" for c in results))
            failed = [f"{c['name']}: {c.get('message', '')}" for c in results
                      if c["status"] == "fail"]  # fmt: skip
            if failed:
                raise CheckFailed("; ".join(failed))

    def card_and_push(self) -> None:
        vm, report = self.vm, self.report
        with report.check("simulated card reaches the screen") as reason:
            code = self.crm.store.new_code()
            must(vm.run(PROXY_UNITS), "CRM relay units")
            # As the technician would: the readers and the CRM in the config, then restart.
            must(vm.run(
                "sed -i 's|^urls = .*|urls = [\"sim:\"]|' /etc/loyalty-kiosk/kiosk.toml"
            ), "config")  # fmt: skip
            must(vm.run(
                f"{KIOSK} provision --crm {VM_CRM} --code {code} --store 'Appliance test'",
                stdin=b"2468\n2468\n", timeout=300,
            ), "kiosk provision")  # fmt: skip
            must(vm.run(f"systemctl restart {APP} {SYNC}", timeout=300), "restart")
            wait_for("services active", lambda: active(vm, APP, SYNC), 600, 5)
            must(vm.run(f"{AS_SERVICE} member enroll --phone {PHONE} --name Test "
                        f"--card {CARD}", timeout=300), "member enroll")  # fmt: skip
            time.sleep(20)  # the attract screen settles after the restart
            before = vm.screendump("attract")
            self.keep("attract", "appliance-attract.png", reason)
            must(vm.run(f"{AS_SERVICE} sim tap {CARD} --hold", timeout=120), "sim tap")
            wait_for(
                "the screen changes after the card",
                lambda: vm.screendump("card").differs(before) > 0.05, 120, 5,
            )  # fmt: skip
            reason.append(f"screen changed ({vm.screendump('card').differs(before):.0%})")
            self.keep("card", "appliance-card.png", reason)
        with report.check("CLI purchase pushed to the simulated CRM on the host") as reason:
            must(vm.run(f"{AS_SERVICE} earn --card {CARD} --amount 500000 --txn appliance-1",
                        timeout=300), "kiosk earn")  # fmt: skip
            seconds = wait_for("the purchase at the CRM", lambda: self.crm_has("appliance-1"), 400)
            reason.append(f"at the CRM after {seconds:.0f} s; {self.crm_summary()}")

    def crm_entries(self) -> list[dict[str, object]]:
        store: CrmStore = self.crm.store
        return [e for d in store.view()["devices"] for e in store.entries(d)]

    def crm_has(self, txn: str) -> bool:
        return any(txn in json.dumps(e) for e in self.crm_entries())

    def crm_summary(self) -> str:
        devices = self.crm.store.view()["devices"]
        return ", ".join(f"{d[:8]}: {v['entries']} entries, gaps {v['gaps']}"
                         for d, v in devices.items())  # fmt: skip

    def watchdogs(self) -> None:
        vm, report = self.vm, self.report
        with report.check("frozen app (SIGSTOP) restarted within WatchdogSec") as reason:
            old = main_pid(vm, APP)
            watchdog = vm.run(f"systemctl show -p WatchdogUSec --value {APP}").stdout.strip()
            must(vm.run(f"kill -STOP {old}"), "kill -STOP")
            begin = time.monotonic()
            wait_for(
                "a new main process",
                lambda: main_pid(vm, APP) not in (0, old) and active(vm, APP), 300, 2,
            )  # fmt: skip
            seconds = time.monotonic() - begin
            journal = vm.run(f"journalctl -u {APP} -n 200 --no-pager | grep -i watchdog").stdout
            reason.append(
                f"WatchdogUSec={watchdog}; new process after {seconds:.0f} s; "
                + (journal.strip().splitlines() or ["no watchdog line"])[-1][-90:]
            )
            if "watchdog" not in journal.lower():
                raise CheckFailed("restarted, but not by the watchdog")
        with report.check("kill -9 of the sync worker: restarted, no entry lost") as reason:
            old = main_pid(vm, SYNC)
            must(vm.run(f"kill -9 {old}"), "kill -9")
            # Another member: the program keeps one member's purchases minutes apart, and
            # the first purchase may be less than that ago on a fast run.
            must(vm.run(f"{AS_SERVICE} member enroll --phone {PHONE_2} --name Second "
                        f"--card {CARD_2}", timeout=300), "member enroll")  # fmt: skip
            must(vm.run(f"{AS_SERVICE} earn --card {CARD_2} --amount 700000 --txn appliance-2",
                        timeout=300), "kiosk earn while the worker is down")  # fmt: skip
            wait_for(
                "a new sync worker",
                lambda: main_pid(vm, SYNC) not in (0, old) and active(vm, SYNC), 120, 2,
            )  # fmt: skip
            seconds = wait_for("the second purchase at the CRM",
                               lambda: self.crm_has("appliance-2"), 400)  # fmt: skip
            local = vm.run(f"{AS_SERVICE} ledger verify --json", timeout=300)
            reason.append(f"restarted; at the CRM after {seconds:.0f} s; {self.crm_summary()}")
            devices = self.crm.store.view()["devices"].values()
            if any(d["gaps"] for d in devices):
                raise CheckFailed("gaps in the CRM's sequence")
            if local.returncode != 0:
                raise CheckFailed(f"ledger verify: {local.stdout[-200:]}")


def doctor_results(out: str) -> list[dict[str, str]]:
    """`kiosk doctor --json`'s checks ({"checks": [{name, status, message, ...}], "ok"})."""
    try:
        data = json.loads(out)
    except json.JSONDecodeError as exc:
        raise CheckFailed(f"not JSON: {out[-200:]}") from exc
    return [dict(c) for c in data.get("checks", [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--workdir", type=Path, default=PROJECT / "var/appliance/run")
    parser.add_argument("--cache", type=Path, default=PROJECT / "var/appliance")
    parser.add_argument("--boot-timeout", type=float, default=900)
    parser.add_argument("--install-timeout", type=float, default=7200)
    parser.add_argument("--screenshots", type=Path, default=PROJECT / "docs/screenshots")
    parser.add_argument("--keep", action="store_true", help="leave the VM running at the end")
    parser.add_argument(
        "--attach", metavar="SSH_PORT:CRM_PORT", help="check a VM left running by --keep"
    )
    args = parser.parse_args(argv)
    begin = time.monotonic()
    work: Path = args.workdir
    if args.attach:
        # A VM left running by --keep: its SSH port and the CRM port its guestfwd relays to.
        ssh_port, crm_port = (int(p) for p in args.attach.split(":"))
        args.wheelhouse = wheelhouse(args.cache)
        crm = CrmServer(CrmStore(work / "crm.sqlite"), port=crm_port).start()
        vm = Vm(work, work / "disk.img", work / "vmlinuz", work / "initrd.img", crm_port, ssh_port)
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        args.wheelhouse = wheelhouse(args.cache)
        key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "appliance-test",
                        "-f", str(key)], check=True)  # fmt: skip
        disk, kernel, initrd = prepare_disk(args.image.resolve(), work, key.with_suffix(".pub"))
        crm = CrmServer(CrmStore(work / "crm.sqlite")).start()
        vm = Vm(work, disk, kernel, initrd, crm_port=int(crm.httpd.server_address[1]))
    report = Report()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    if not args.attach:
        vm.start()
    try:
        Run(args, work, report, vm, crm, args.screenshots).checks()
    finally:
        if not args.keep:
            vm.stop()
        crm.stop()
    wall = time.monotonic() - begin
    print("\n== appliance test summary ==")
    for name, ok, text, seconds in report.results:
        print(f"{'PASS' if ok else 'FAIL'}  {name} ({seconds:.0f} s): {text}")
    passed = sum(ok for _, ok, _, _ in report.results)
    print(f"{passed}/{len(report.results)} passed; wall time {wall / 60:.1f} min "
          f"on {os.cpu_count()} cores (software emulation); logs in {work}")  # fmt: skip
    return 0 if passed == len(report.results) else 1


if __name__ == "__main__":
    sys.exit(main())
