"""The UI benchmark: the touch app on Kivy's offscreen window, against bare Kivy.

Every measurement runs in a child process (Kivy has one window per process, and each
figure wants a heap of its own), with SDL's offscreen video driver, `maxfps = 0` (the
loop never sleeps between frames), an 800x480 window and a throwaway `KIVY_HOME`. A
frame counts as drawn when the window's `on_flip` has fired (it does in offscreen mode),
and its time is taken when that `EventLoop.idle()` call returns, after the buffer swap.
GL is asynchronous: the driver may still be filling the frame's pixels then (Mesa's
software llvmpipe here takes about 30 ms for one of our 800x480 screens, about 1 ms for
the bare reference), so the tap figures' notes also give the time until `glFinish()`.

- `tap_to_member_frame_p50/p95` (ms): with 200 enrolled members with a card each
  (`--quick`: 20; `--smoke`: 10, and 8 taps of each kind), from `SimReader.tap(uid)` on
  the attract screen to the first frame drawn with the member screen current (the card
  handed from the reader's thread through `Clock.schedule_once`, looked up, the member's
  summary read and the screen filled in).
  Reference: a bare `ScreenManager` (NoTransition) with two screens of one `Label` each; a
  thread hands the "tap" through `Clock.schedule_once` as our reader threads do and the
  handler switches screens; from the hand-over to the first frame drawn after the switch.
  Both are measured in blocks, alternately, on the same window; before each tap the GL
  driver finishes the frames already drawn (at a real counter, the attract screen has
  long been on show when a card comes), else their filling is billed to the tap.
  Aim: p95 <= 100 ms.
- `cold_start_to_attract` (s): the wall time of a whole fresh interpreter (measured by the
  parent, median of 5 runs; `--quick`: 3; `--smoke`: 1) that imports the app, opens a
  service on a new data directory, builds the app, mounts it and runs the loop until the
  attract screen has drawn a frame, then leaves at once (`os._exit`: the figure is the
  start, not the shutdown). Reference: the same for a child that only imports Kivy, opens
  the window and draws one frame of one `Label`. One unmeasured run of each comes first
  (disk cache, Kivy's home). Shown, no aim.
- `rss_growth_10000_vs_100_transactions` (MiB; `--quick`: 2,000; `--smoke`: 200):
  resident memory (`VmRSS`, after `gc.collect()`) after the last scripted transaction
  minus after the 100th, in a child with the app mounted. Each transaction goes through
  the UI layer: member screen and a frame, a real `earn()`, result screen and a frame,
  attract screen and a frame. So that 30,000 frames fit in the time, this child's GL
  scissor box is one pixel: every widget, text texture, upload and draw call is made as
  usual, only the software fill of the pixels is skipped (about 10 ms a transaction
  instead of 45). Reference: the same `enroll`/`earn` calls without the UI, in a child of
  its own. Aim: growth < 10 MB.

A `ManualClock` drives the service and moves on between taps and transactions, so that
the program's limits (earns per day, minutes between earns) never refuse one. The service
and the simulated reader come from the composition root (`kiosk.bootstrap.Appliance`), as
in `kiosk run --sim`.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import Scale, percentile, progress, report

if TYPE_CHECKING:
    from kiosk.bootstrap import Appliance
    from kiosk.config import KioskConfig
    from kiosk.core.clock import ManualClock
    from kiosk.core.service import LoyaltyService
    from kiosk.core.store.staff import Actor
    from sim.reader import SimReader

# The top of a child: its in-process cold start time counts from here (before it are only
# the interpreter, the standard library and `bench.common`, the same for both children).
STARTED = time.perf_counter()

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CONFIG_OVERRIDES = (
    "security.pin_scrypt_n=1024",
    'device.id="kiosk-bench"',
    # The in-process simulated reader, every tap passed on at once (as the UI tests do).
    'readers.urls=["sim:"]',
    "readers.debounce_ms=0",
)
NO_SYSTEM_CONFIG = Path("/nonexistent/loyalty-kiosk/kiosk.toml")
CASHIER_PIN = "1357"
AMOUNT_RIAL = 2_500_000  # 25 points: an ordinary purchase, no manager approval
WAIT_SECONDS = 20.0  # a safety limit for a frame to come, never a pace
BLOCKS = 4  # tap blocks, alternately bare Kivy and the app
RSS_FIRST = 100  # the transaction after which the first RSS reading is taken


@dataclass(frozen=True)
class Size:
    members: int
    taps: int
    transactions: int
    cold_runs: int


FULL = Size(members=200, taps=400, transactions=10_000, cold_runs=5)
QUICK = Size(members=20, taps=60, transactions=2_000, cold_runs=3)
SMOKE = Size(members=10, taps=2 * BLOCKS, transactions=2 * RSS_FIRST, cold_runs=1)
SIZES: dict[Scale, Size] = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def phone(i: int) -> str:
    return f"0912{1_000_000 + i:07d}"


def card(i: int) -> str:
    return f"{0x1A000000 + i:08X}"


# --- Kivy's environment -------------------------------------------------------------------


@contextmanager
def kivy_environment() -> Iterator[None]:
    """What Kivy reads when first imported (by the children, which inherit it): no screen,
    no command line, no log output, a fresh home folder. Restored afterwards."""
    names = (
        "SDL_VIDEODRIVER",
        "SDL_AUDIODRIVER",
        "KIVY_NO_ARGS",
        "KIVY_NO_CONSOLELOG",
        "KIVY_NO_FILELOG",
        "KIVY_LOG_MODE",
        "KIVY_HOME",
    )
    saved = {name: os.environ.get(name) for name in names}
    home = tempfile.mkdtemp(prefix="bench-kivy-home-")
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_NO_CONSOLELOG"] = "1"
    os.environ["KIVY_NO_FILELOG"] = "1"
    # Kivy's default mode sends whatever goes to stderr into its (here silent) log: our
    # progress lines and a child's traceback would vanish. MIXED leaves stderr alone.
    os.environ["KIVY_LOG_MODE"] = "MIXED"
    os.environ["KIVY_HOME"] = home
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(home, ignore_errors=True)


def open_window() -> Any:
    """The child's one Kivy window, 800x480, drawing as fast as it can."""
    if "KIVY_HOME" not in os.environ:
        raise RuntimeError("bench.ui children are started by `python -m bench ui`")
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "480")
    Config.set("graphics", "maxfps", "0")
    from kivy.core.window import Window

    if Window is None:
        raise RuntimeError("no OpenGL window for Kivy (SDL offscreen needs Mesa)")
    return Window


class Frames:
    """Runs Kivy's loop one frame at a time and sees which frames were drawn (on_flip)."""

    def __init__(self, window: Any) -> None:
        from kivy.base import EventLoop

        self._idle: Callable[[], object] = EventLoop.idle
        self._watch: Callable[[], bool] | None = None
        self._hit = False
        self._window = window
        window.bind(on_flip=self._flipped)

    def _flipped(self, *_: Any) -> None:
        if self._watch is not None and self._watch():
            self._hit = True

    def pump(self, count: int = 1) -> None:
        for _ in range(count):
            self._idle()

    @staticmethod
    def scissor_to_one_pixel() -> None:
        """Let the GL driver fill one pixel per frame: everything else is done as usual."""
        from kivy.graphics.opengl import GL_SCISSOR_TEST, glEnable, glScissor

        glEnable(GL_SCISSOR_TEST)
        glScissor(0, 0, 1, 1)

    @staticmethod
    def scissored() -> bool:
        from kivy.graphics.opengl import GL_SCISSOR_TEST, glIsEnabled

        return bool(glIsEnabled(GL_SCISSOR_TEST))

    @staticmethod
    def finish() -> float:
        """Wait until the GL driver has rendered every frame drawn so far; perf_counter then."""
        from kivy.graphics.opengl import glFinish

        glFinish()
        return time.perf_counter()

    def until(self, condition: Callable[[], bool], what: str) -> None:
        """Run frames until `condition` holds."""
        deadline = time.perf_counter() + WAIT_SECONDS
        while not condition():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            self._idle()

    def until_drawn(self, condition: Callable[[], bool], what: str) -> float:
        """Run frames until one is drawn while `condition` holds; perf_counter after it."""
        self._watch, self._hit = condition, False
        deadline = time.perf_counter() + WAIT_SECONDS
        try:
            while not self._hit:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"timed out waiting for a frame with {what} (on_flip)")
                self._idle()
            return time.perf_counter()
        finally:
            self._watch = None

    def settle(self, manager: Any, name: str) -> None:
        """Until screen `name` is current, its (instant) transition over, all of it drawn."""
        canvas = self._window.canvas
        self.until(
            lambda: (
                manager.current == name
                and not manager.transition.is_active
                and not canvas.needs_redraw
            ),
            f"screen {name} drawn",
        )


# --- the kiosk's pieces -------------------------------------------------------------------


def make_config() -> KioskConfig:
    """The shipped defaults with the tests' settings (cheap PIN hashing), no machine config."""
    from kiosk.config import load_config

    return load_config(None, list(CONFIG_OVERRIDES), environ={}, system_file=NO_SYSTEM_CONFIG)


def appliance(data_dir: Path, clock: ManualClock | None = None) -> Appliance:
    """The kiosk's parts on `data_dir`, as the composition root builds them."""
    from kiosk.bootstrap import Appliance
    from kiosk.core.clock import system_clock

    return Appliance(make_config(), data_dir, clock=clock or system_clock)


def open_service(parts: Appliance, members: int) -> tuple[LoyaltyService, Actor]:
    """A service with a cashier (returned, logged in) and `members` members with a card."""
    from kiosk.core.store.staff import CLI

    service = parts.open_service()
    sara = service.staff.add(name="Sara", role="cashier", pin=CASHIER_PIN, actor=CLI)
    cashier = service.staff.login_with_pin(CASHIER_PIN, sara.staff_id)
    for i in range(members):
        service.enroll(phone(i), client_txn_id=f"bench-enroll-{i}", card=card(i))
    return service, cashier


class Mounted:
    """The kiosk app mounted on the window, as the UI tests mount it."""

    def __init__(self, parts: Appliance, service: LoyaltyService, window: Any) -> None:
        from kiosk.ui.app import KioskApp
        from kiosk.ui.resources import ASSETS
        from kiosk.ui.sounds import Sounds
        from sim.reader import SimReader

        self.window = window
        self.service = service
        readers = parts.readers()
        reader = readers.readers[0]
        if not isinstance(reader, SimReader):
            raise RuntimeError(f"the configured reader is not the simulator: {reader!r}")
        self.reader: SimReader = reader
        self.app: Any = KioskApp(
            service,
            data_dir=parts.data_dir,
            readers=readers,
            sounds=Sounds(ASSETS / "sounds", enabled=False),
            exit_app=lambda _code: None,
        )
        self.root: Any = self.app.build()
        self.app.root = self.root
        self.attach()

    def attach(self) -> None:
        self.window.add_widget(self.root)

    def detach(self) -> None:
        self.window.remove_widget(self.root)

    def close(self) -> None:
        self.app.dispatch("on_stop")
        self.detach()
        self.service.close()
        if self.app.bugs:
            raise RuntimeError(f"the app caught unexpected errors: {self.app.bugs}")


def rss_mib() -> float:
    """This process's resident memory now (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


# --- children: tap to member screen --------------------------------------------------------


class BareScreens:
    """Two screens of one Label each, switched by a "tap" from a thread via Kivy's Clock."""

    def __init__(self, window: Any) -> None:
        from kivy.clock import Clock
        from kivy.uix.label import Label
        from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

        self.window = window
        self.manager: Any = ScreenManager(transition=NoTransition())
        for name in ("first", "second"):
            screen = Screen(name=name)
            screen.add_widget(Label(text=f"{name} screen"))
            self.manager.add_widget(screen)
        self.handled = 0
        self._schedule = Clock.schedule_once
        self._taps: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        while (uid := self._taps.get()) is not None:
            self._schedule(partial(self._tapped, uid), -1)

    def _tapped(self, _uid: str, _dt: float = 0) -> None:
        self.manager.current = "second"
        self.handled += 1

    def tap(self, uid: str) -> None:
        self._taps.put(uid)

    def close(self) -> None:
        self._taps.put(None)
        self._thread.join(5)


def _bare_tap(frames: Frames, bare: BareScreens, uid: str) -> tuple[float, float]:
    handled = bare.handled
    manager = bare.manager
    start = frames.finish()
    bare.tap(uid)
    end = frames.until_drawn(
        lambda: bare.handled > handled and manager.current == "second", "the second screen"
    )
    rendered = frames.finish()
    manager.current = "first"
    frames.settle(manager, "first")
    return end - start, rendered - start


def _our_tap(frames: Frames, kiosk: Mounted, clock: ManualClock, uid: str) -> tuple[float, float]:
    app = kiosk.app
    manager = app.manager
    clock.advance(minutes=3)
    handled = app.cards_handled
    start = frames.finish()
    kiosk.reader.tap(uid)
    end = frames.until_drawn(
        lambda: app.cards_handled > handled and manager.current == "member", "the member screen"
    )
    rendered = frames.finish()
    app.go_home()
    frames.settle(manager, "attract")
    return end - start, rendered - start


def measure_taps(size: Size) -> dict[str, Any]:
    from kiosk.core.clock import ManualClock

    window = open_window()
    frames = Frames(window)
    clock = ManualClock(START)
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        progress(f"ui taps: enrolling {size.members} members")
        parts = appliance(Path(tmp), clock)
        service, _ = open_service(parts, size.members)
        kiosk = Mounted(parts, service, window)
        frames.until(lambda: bool(kiosk.app.reader_states), "the reader's first status")
        frames.settle(kiosk.app.manager, "attract")
        kiosk.detach()
        bare = BareScreens(window)
        cards = [card(i) for i in range(size.members)]
        ours: list[tuple[float, float]] = []
        reference: list[tuple[float, float]] = []
        per_block = size.taps // BLOCKS
        for block in range(BLOCKS):
            progress(f"ui taps: block {block + 1}/{BLOCKS} ({per_block} taps each)")
            window.add_widget(bare.manager)
            frames.settle(bare.manager, "first")
            for i in range(per_block):
                reference.append(_bare_tap(frames, bare, f"bare-{block}-{i}"))
            window.remove_widget(bare.manager)
            kiosk.attach()
            frames.settle(kiosk.app.manager, "attract")
            for i in range(per_block):
                uid = cards[(block * per_block + i) % len(cards)]
                ours.append(_our_tap(frames, kiosk, clock, uid))
            kiosk.detach()
        bare.close()
        kiosk.attach()
        kiosk.close()
    return {
        "ours": [flip for flip, _ in ours],
        "bare": [flip for flip, _ in reference],
        "ours_rendered": [rendered for _, rendered in ours],
        "bare_rendered": [rendered for _, rendered in reference],
    }


# --- children: memory over many transactions ---------------------------------------------


def measure_transactions(size: Size, ui: bool) -> dict[str, Any]:
    """RSS after the 100th and the last transaction, with or without the UI."""
    from kiosk.core.clock import ManualClock
    from kiosk.ui.requests import ResultRequest

    frames: Frames | None = None
    window: Any = None
    if ui:
        window = open_window()
        frames = Frames(window)
    clock = ManualClock(START)
    # Each member earns every `members` transactions: 6 hours apart keeps them at most
    # four a day and well over the minutes between earns.
    step_minutes = 6 * 60 / size.members
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        what = "ui" if ui else "service only"
        progress(f"memory ({what}): enrolling {size.members} members")
        parts = appliance(Path(tmp), clock)
        service, cashier = open_service(parts, size.members)
        members = [service.identify_card(card(i)).member_id for i in range(size.members)]
        kiosk: Mounted | None = None
        if frames is not None:
            kiosk = Mounted(parts, service, window)
            frames.until(lambda: bool(kiosk.app.reader_states), "the reader's first status")
            frames.settle(kiosk.app.manager, "attract")
            frames.scissor_to_one_pixel()
        app: Any = kiosk.app if kiosk is not None else None
        progress(f"memory ({what}): {size.transactions:,} transactions")
        rss_first = 0.0
        for i in range(size.transactions):
            clock.advance(minutes=step_minutes)
            member = members[i % len(members)]
            if app is not None and frames is not None:
                app.counter.touched()
                app.counter.open_shift(cashier)
                app.counter.member_id = member
                app.go("member")
                frames.pump()
            result = service.earn(
                member, AMOUNT_RIAL, cashier=cashier, client_txn_id=f"bench-earn-{i}"
            )
            if app is not None and frames is not None:
                app.go(ResultRequest(kind="earn", points=result.points, balance=result.balance))
                frames.pump()
                app.go_home()
                frames.pump()
            if i + 1 == RSS_FIRST:
                gc.collect()
                rss_first = rss_mib()
        gc.collect()
        rss_last = rss_mib()
        if frames is not None and not frames.scissored():
            raise RuntimeError("something turned the scissor test off: frames were filled")
        if kiosk is not None:
            kiosk.close()
        else:
            service.close()
    return {"rss_first": rss_first, "rss_last": rss_last}


# --- children: cold start ------------------------------------------------------------------


def cold_start(ours: bool, data_dir: Path) -> None:
    """From the top of this child to the first frame drawn; prints it and leaves at once."""
    window = open_window()
    frames = Frames(window)
    if ours:
        parts = appliance(data_dir)
        manager = Mounted(parts, parts.open_service(), window).app.manager
        frames.until_drawn(lambda: manager.current == "attract", "the attract screen")
    else:
        from kivy.uix.label import Label

        window.add_widget(Label(text="bare Kivy"))
        frames.until_drawn(lambda: True, "a frame")
    print(json.dumps({"in_process_s": time.perf_counter() - STARTED}), flush=True)
    os._exit(0)  # the figure is the start: no shutdown (reader threads, atexit, GC)


def _child_main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "taps":
        print(json.dumps(measure_taps(Size(**json.loads(args[0])))))
    elif command in ("memory-ui", "memory-service"):
        size = Size(**json.loads(args[0]))
        print(json.dumps(measure_transactions(size, ui=command == "memory-ui")))
    elif command in ("cold-ours", "cold-bare"):
        cold_start(command == "cold-ours", Path(args[0]))
    else:
        raise SystemExit(f"unknown command {command}")
    return 0


# --- the parent ----------------------------------------------------------------------------


def _child(*args: str) -> tuple[dict[str, Any], float]:
    """Run one child; its figures (the last line of its stdout) and its wall time in s."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ui", *args], stdout=subprocess.PIPE, text=True, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args[0]} failed with status {proc.returncode}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]), wall


def _cold_starts(runs: int) -> dict[str, list[float]]:
    """Wall and in-process times of `runs` cold starts of each kind, alternately."""
    out: dict[str, list[float]] = {"ours": [], "bare": [], "ours_in": [], "bare_in": []}
    for run in range(runs + 1):  # run 0 warms the disk cache and Kivy's home; not counted
        for kind in ("bare", "ours"):
            with tempfile.TemporaryDirectory(prefix="bench-ui-cold-") as tmp:
                figures, wall = _child(f"cold-{kind}", tmp)
            if run:
                out[kind].append(wall)
                out[f"{kind}_in"].append(figures["in_process_s"])
    return out


def main(scale: Scale) -> int:
    size = SIZES[scale]
    spec = json.dumps(asdict(size))
    with kivy_environment():
        progress(f"ui: tap to member screen, {size.taps} taps and {size.taps} bare")
        taps, _ = _child("taps", spec)
        progress(f"ui: cold start, {size.cold_runs} runs each (after one unmeasured)")
        cold = _cold_starts(size.cold_runs)
        progress("ui: memory with the UI")
        with_ui, _ = _child("memory-ui", spec)
        progress("ui: memory without the UI (reference)")
        without_ui, _ = _child("memory-service", spec)

    for pct in (50, 95):
        rendered = (
            f"until glFinish (pixels done, software GL here): "
            f"{percentile(taps['ours_rendered'], pct) * 1000:.1f} ms vs "
            f"{percentile(taps['bare_rendered'], pct) * 1000:.1f} ms"
        )
        report(
            f"tap_to_member_frame_p{pct}",
            percentile(taps["ours"], pct) * 1000,
            "ms",
            percentile(taps["bare"], pct) * 1000,
            aim="p95 <= 100 ms" if pct == 95 else None,
            note=(
                f"{size.members} members, {len(taps['ours'])} taps; reference: bare "
                f"ScreenManager, thread -> Clock.schedule_once -> switch; {rendered}"
            ),
        )
    ours_in = statistics.median(cold["ours_in"])
    bare_in = statistics.median(cold["bare_in"])
    report(
        "cold_start_to_attract",
        statistics.median(cold["ours"]),
        "s",
        statistics.median(cold["bare"]),
        note=(
            f"whole process, median of {size.cold_runs}; reference: bare Kivy, one Label; "
            f"in-process (top of module to frame): {ours_in:.3f} s vs {bare_in:.3f} s"
        ),
    )
    growth = with_ui["rss_last"] - with_ui["rss_first"]
    reference = without_ui["rss_last"] - without_ui["rss_first"]
    report(
        f"rss_growth_{size.transactions}_vs_{RSS_FIRST}_transactions",
        growth,
        "MiB",
        reference,
        aim="growth < 10 MB",
        note=(
            f"VmRSS {with_ui['rss_first']:.1f} -> {with_ui['rss_last']:.1f} MiB with the UI; "
            f"reference: the same service calls without the UI, "
            f"{without_ui['rss_first']:.1f} -> {without_ui['rss_last']:.1f} MiB"
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
