"""The appliance test's machine: the image's disk prepared for booting (nothing mounted),
qemu-system-aarch64 with it, commands in it over SSH, and its screen through QEMU's monitor
(a PPM screendump, kept as PNG). systemd/image/appliance_test.py runs the checks on it.
Stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# Inside the VM, QEMU's guestfwd address: a connection to it reaches the simulated CRM on a
# loopback port of this host (systemd-socket-proxyd in the VM relays the kiosk's to it).
GUESTFWD = "10.0.2.100:80"


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- pictures (QEMU's screendump is a PPM; the docs want a PNG) ------------------------------


@dataclass
class Picture:
    width: int
    height: int
    rgb: bytes

    @classmethod
    def read_ppm(cls, path: Path) -> Picture:
        data = path.read_bytes()
        fields: list[bytes] = []
        pos = 0
        while len(fields) < 4:
            while data[pos : pos + 1].isspace():
                pos += 1
            if data[pos : pos + 1] == b"#":
                pos = data.index(b"\n", pos)
                continue
            end = pos
            while not data[end : end + 1].isspace():
                end += 1
            fields.append(data[pos:end])
            pos = end
        if fields[0] != b"P6" or fields[3] != b"255":
            raise ValueError(f"{path}: not an 8-bit P6 picture")
        width, height = int(fields[1]), int(fields[2])
        return cls(width, height, data[pos + 1 : pos + 1 + width * height * 3])

    def colours(self) -> int:
        """How many different colours (sampled), to tell a drawn screen from a blank one."""
        step = 3 * 7
        return len({self.rgb[i : i + 3] for i in range(0, len(self.rgb) - 2, step)})

    def differs(self, other: Picture) -> float:
        """The share of sampled pixels that differ."""
        if (self.width, self.height) != (other.width, other.height):
            return 1.0
        step = 3 * 11
        total = changed = 0
        for i in range(0, len(self.rgb) - 2, step):
            total += 1
            changed += self.rgb[i : i + 3] != other.rgb[i : i + 3]
        return changed / max(total, 1)

    def write_png(self, path: Path) -> None:
        def chunk(kind: bytes, body: bytes) -> bytes:
            crc = zlib.crc32(kind + body) & 0xFFFFFFFF
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

        row = self.width * 3
        raw = b"".join(b"\x00" + self.rgb[y * row : (y + 1) * row] for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        path.write_bytes(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


# -- the disk ----------------------------------------------------------------------------


@dataclass
class Partition:
    start: int  # bytes
    size: int


def partitions(image: Path) -> list[Partition]:
    table = json.loads(subprocess.check_output(["sfdisk", "--json", str(image)]))
    sector = int(table["partitiontable"].get("sectorsize", 512))
    return [
        Partition(int(p["start"]) * sector, int(p["size"]) * sector)
        for p in table["partitiontable"]["partitions"]
    ]


def debugfs(device: str, *commands: str) -> str:
    """debugfs's read-only commands on an ext4 file system (DEVICE?offset=N in a disk)."""
    args = ["debugfs", "-f", "-", device]
    done = subprocess.run(
        args, input="\n".join(commands) + "\n", capture_output=True, text=True, check=True
    )
    return done.stdout


def prepare_disk(image: Path, work: Path, public_key: Path) -> tuple[Path, Path, Path]:
    """A copy of the image to boot (sparse), its kernel and initrd read out of the root
    partition (debugfs), and the test's SSH key put on the boot partition as a technician
    does (technician_authorized_keys, with mtools): nothing is mounted."""
    disk = work / "disk.img"
    log(f"copying {image.name} to {disk}")
    subprocess.run(["cp", "--sparse=always", str(image), str(disk)], check=True)
    boot, root = partitions(disk)[:2]
    device = f"{disk}?offset={root.start}"
    listing = debugfs(device, "ls -p /boot")
    names = [line.split("/")[5] for line in listing.splitlines() if line.count("/") >= 6]
    kernel = sorted(n for n in names if n.startswith("vmlinuz-"))[-1]
    initrd = sorted(n for n in names if n.startswith("initrd.img-"))[-1]
    out_kernel, out_initrd = work / "vmlinuz", work / "initrd.img"
    for name, out in ((kernel, out_kernel), (initrd, out_initrd)):
        out.unlink(missing_ok=True)
        debugfs(device, f"dump /boot/{name} {out}")
    log(f"kernel {kernel}, initrd {initrd} from the image's /boot")
    subprocess.run(
        ["mcopy", "-o", "-i", f"{disk}@@{boot.start}", str(public_key),
         "::technician_authorized_keys"],
        check=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )  # fmt: skip
    return disk, out_kernel, out_initrd


# -- the VM ------------------------------------------------------------------------------


@dataclass
class Vm:
    work: Path
    disk: Path
    kernel: Path
    initrd: Path
    crm_port: int
    ssh_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def key(self) -> Path:
        return self.work / "id_ed25519"

    @property
    def console(self) -> Path:
        return self.work / "console.log"

    @property
    def monitor(self) -> Path:
        return self.work / "monitor.sock"

    def start(self) -> None:
        relay = f"cmd:socat - TCP:127.0.0.1:{self.crm_port}"
        command = [
            "qemu-system-aarch64",
            "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "2048",
            "-accel", "tcg,thread=multi,tb-size=512",
            "-kernel", str(self.kernel), "-initrd", str(self.initrd),
            "-append", "root=LABEL=RASPIROOT rw rootwait console=ttyAMA0 net.ifnames=0",
            "-drive", f"if=none,id=disk,format=raw,file={self.disk},cache=unsafe",
            "-device", "virtio-blk-pci,drive=disk",
            "-device", "virtio-gpu-pci,xres=800,yres=480",
            "-device", "virtio-keyboard-pci",
            "-display", "none",
            "-netdev", f"user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22,"
                       f"guestfwd=tcp:{GUESTFWD}-{relay}",
            "-device", "virtio-net-pci,netdev=net,romfile=",
            "-device", "virtio-rng-pci",
            "-serial", f"file:{self.console}",
            "-monitor", f"unix:{self.monitor},server=on,wait=off",
        ]  # fmt: skip
        log("starting " + shlex.join(command))
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(self.work / "qemu.err").open("ab"),
        )  # fmt: skip

    def ssh_args(self, timeout: int = 10) -> list[str]:
        return [
            "ssh", "-i", str(self.key), "-p", str(self.ssh_port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={timeout}",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=8",
            "technician@127.0.0.1",
        ]  # fmt: skip

    def run(
        self,
        command: str,
        *,
        timeout: float = 300,
        stdin: bytes | None = None,
        as_root: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """A command in the VM as the technician, by default through sudo (bash as root);
        never waits longer than timeout."""
        if as_root:
            command = f"sudo -n bash -c {shlex.quote(command)}"
        try:
            done = subprocess.run(
                [*self.ssh_args(), command],
                check=False,
                input=stdin,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(exc.cmd, 124, "", f"timed out after {timeout} s")
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(errors="replace"),
            done.stderr.decode(errors="replace"),
        )  # fmt: skip

    def wait_ssh(self, timeout: float) -> float:
        """Seconds until SSH answers; raises TimeoutError."""
        begin = time.monotonic()
        while time.monotonic() - begin < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"QEMU exited with {self.process.returncode}")
            if self.run("true", timeout=30).returncode == 0:
                return time.monotonic() - begin
            time.sleep(5)
        raise TimeoutError(f"no SSH after {timeout:.0f} s (see {self.console})")

    def hmp(self, command: str, timeout: float = 30) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.monitor))
            self._read_prompt(sock)
            sock.sendall(command.encode() + b"\n")
            return self._read_prompt(sock)

    @staticmethod
    def _read_prompt(sock: socket.socket) -> str:
        """Up to the monitor's prompt, or until QEMU closes the socket (after `quit`)."""
        answer = b""
        while not answer.endswith(b"(qemu) "):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.decode(errors="replace")

    def screendump(self, name: str) -> Picture:
        ppm = self.work / f"{name}.ppm"
        ppm.unlink(missing_ok=True)
        self.hmp(f"screendump {ppm}")
        for _ in range(50):
            if ppm.exists() and ppm.stat().st_size > 0:
                break
            time.sleep(0.2)
        picture = Picture.read_ppm(ppm)
        picture.write_png(self.work / f"{name}.png")
        return picture

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError, TimeoutError):
            self.hmp("quit", timeout=5)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
