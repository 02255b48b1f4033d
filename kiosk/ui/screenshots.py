"""`python -m kiosk.ui.screenshots DIR`: every screen, in Persian and English, as PNG files.

Renders in a window without a screen (SDL's offscreen driver) on a throw-away database
with demo data and a fixed clock, so the pictures are the same from run to run.
`make screenshots` writes them to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.core.clock import ManualClock
    from kiosk.ui.app import KioskApp

SIZES = ((800, 480), (1280, 800))
# Screens also shown at the 10" size in the README.
LARGE = ("attract", "member", "amount")
_OVERRIDES = (
    'device.id="kiosk-demo"',
    'shop.name="Demo shop"',
    "security.pin_scrypt_n=1024",
    "program.expiry.days=20",
    'readers.urls=["sim:counter"]',
    "readers.debounce_ms=0",
    # A hub, so that the member screen shows its phone page's QR (kiosk/ui/qr.py); the
    # screenshots run no sync worker, so nothing is ever sent there.
    'crm.url="https://club.example.ir"',
    # Referrals paid, so that the member screen shows the member's code and enrollment
    # its "referred by" step (docs/ui.md).
    "program.referral.enabled=true",
    "program.referral.referee_bonus=20",
    "program.referral.referrer_bonus=40",
)


def main(argv: list[str]) -> int:
    """Write the screenshots into the folder named by argv[0], each size in its own process.

    An offscreen window keeps the size it was opened with, so every size gets a fresh
    process (`--size WxH`).
    """
    if len(argv) == 3 and argv[1] == "--size":
        width, height = (int(part) for part in argv[2].split("x"))
        return _render(Path(argv[0]), width, height)
    if len(argv) != 1:
        print("usage: python -m kiosk.ui.screenshots DIR", file=sys.stderr)
        return 2
    for width, height in SIZES:
        command = [sys.executable, "-m", "kiosk.ui.screenshots", argv[0], "--size"]
        done = subprocess.run([*command, f"{width}x{height}"], check=False)
        if done.returncode != 0:
            return done.returncode
    return 0


def _render(out: Path, width: int, height: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="kivy-home-")
    # KIVY_LOG_MODE=PYTHON: Kivy logs through `logging` and leaves stderr alone, so an
    # error is seen instead of vanishing into Kivy's log file.
    os.environ.update(KIVY_NO_ARGS="1", KIVY_LOG_MODE="PYTHON", KIVY_HOME=home)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.bootstrap import Appliance
    from kiosk.config import load_config
    from kiosk.core.clock import ManualClock
    from kiosk.ui.app import KioskApp
    from kiosk.ui.sounds import Sounds
    from kiosk.ui.tour import MEANT_REFUSALS, refusals, seed, stops

    written = 0
    for language in ("fa", "en"):
        data = Path(tempfile.mkdtemp(prefix="kiosk-shots-"))
        config = load_config(None, [*_OVERRIDES, f'shop.default_language="{language}"'], environ={})
        clock = ManualClock(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
        appliance = Appliance(config, data, clock=clock)
        service = appliance.open_service()
        app = KioskApp(
            service,
            data_dir=data,
            readers=appliance.readers(),
            sounds=Sounds(data, enabled=False),
            exit_app=lambda _code: None,
        )
        root = app.build()
        app.root = root
        Window.add_widget(root)
        deadline = time.monotonic() + 10
        while not app.reader_states and time.monotonic() < deadline:
            EventLoop.idle()
        member_id = seed(app)
        for name, arrive in stops(member_id):
            if (width, height) != SIZES[0] and name not in LARGE:
                continue
            app.go_home()
            arrive(app)
            for _ in range(4):
                EventLoop.idle()
            settle = getattr(app.screen, "settle", None)
            if settle is not None:  # an entrance shown at rest, not half-way
                settle()
                EventLoop.idle()
            shown = refusals(app)
            if shown and name not in MEANT_REFUSALS:  # a screen as nobody normally sees it
                raise SystemExit(f"{language}-{name} shows a refusal: {shown}")
            suffix = "" if (width, height) == SIZES[0] else f"-{width}x{height}"
            target = out / f"{language}-{name}{suffix}.png"
            # Kivy adds a counter to the name it is given; the file is renamed.
            made = Window.screenshot(name=str(out / "shot.png"))
            Path(made).replace(target)
            written += 1
        if (width, height) == SIZES[0]:
            _with_offer(app)  # the attract screen during an offer, with the club's size
            for _ in range(4):
                EventLoop.idle()
            made = Window.screenshot(name=str(out / "shot.png"))
            Path(made).replace(out / f"{language}-attract-offer.png")
            written += 1
            # During the offer: the amount screen naming it, then a result's lines.
            for shot in _offer_applied(app, member_id, clock):
                written += _shoot(app, out / f"{language}-{shot}.png")
            # The 10th visit's purchase celebrated, then the member screen with the badge.
            for shot in _with_badge(app, member_id, clock):
                written += _shoot(app, out / f"{language}-{shot}.png")
        app.dispatch("on_stop")
        Window.remove_widget(root)
        service.close()
        from kivy.lang.parser import global_idmap

        object.__setattr__(global_idmap["app"], "_obj", None)
    print(f"wrote {written} screenshots at {width}x{height} to {out}")
    return 0


def _shoot(app: KioskApp, target: Path) -> int:
    """The window as it is once drawn (an entrance shown at rest) into `target`."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.ui.tour import refusals

    for _ in range(4):
        EventLoop.idle()
    settle = getattr(app.screen, "settle", None)
    if settle is not None:
        settle()
        EventLoop.idle()
    shown = refusals(app)
    if shown:  # none of these shots is of a refusal
        raise SystemExit(f"{target.name} shows a refusal: {shown}")
    # Kivy adds a counter to the name it is given; the file is renamed.
    made = Window.screenshot(name=str(target.parent / "shot.png"))
    Path(made).replace(target)
    return 1


def _offer_applied(app: KioskApp, member_id: str, clock: ManualClock) -> Iterator[str]:
    """With _with_offer's noon offer and a fixed bonus for a big basket: the amount
    typed ("amount-offer"), then a result naming a birthday and both offers
    ("result-lines"), as a purchase on the member's birthday would show them."""
    from dataclasses import replace
    from decimal import Decimal

    from kiosk.config.schema import OfferConfig
    from kiosk.ui.requests import BonusLine, ResultRequest

    service = app.service
    basket = OfferConfig(id="basket", name_fa="سبد بزرگ", name_en="Big basket", bonus=20)
    service.program = replace(service.program, offers=(*service.program.offers, basket))
    clock.advance(minutes=5)  # still in the offer
    app.counter.touched()
    app.counter.member_id = member_id
    app.go("amount")
    for key in "1250000":
        app.screen.key(key)
    yield "amount-offer"
    noon, _ = service.program.offers
    lines = (
        BonusLine("birthday", 100),
        BonusLine("offer", 125, noon.id, noon.name_fa, noon.name_en, Decimal(2)),
        BonusLine("offer", 20, basket.id, basket.name_fa, basket.name_en),
    )
    app.go(ResultRequest(kind="earn", points=270, balance=810, lines=lines))
    yield "result-lines"
    app.go_home()


def _with_offer(app: KioskApp) -> None:
    """Run a noon offer (the clock says just past 12:00 in Tehran) and show the chain's
    member count, as a pulled program and the hub would (docs/program.md), and go back to
    the attract screen."""
    from dataclasses import replace
    from decimal import Decimal

    from kiosk.config.schema import OfferConfig
    from kiosk.core.social import CHAIN_MEMBERS
    from kiosk.core.store.outbox import SyncState

    offer = OfferConfig(
        id="noon",
        name_fa="امتیاز دوبرابر",
        name_en="Double points",
        multiplier=Decimal(2),
        from_time="12:00",
        until_time="14:00",
    )
    service = app.service
    service.program = replace(service.program, offers=(offer,), show_member_count=True)
    # The chain's count as the hub's heartbeat answer left it (kiosk/core/social.py).
    heard = {"count": 12_400, "at": int(app.clock().timestamp())}
    SyncState(service.conn).set(**{CHAIN_MEMBERS: heard})
    app.go_home()


def _with_badge(app: KioskApp, member_id: str, clock: ManualClock) -> Iterator[str]:
    """Reach the 10th visit's badge (docs/program.md, "Streaks and badges") with a
    purchase a day, and show its result ("result-badge"), then the member ("member-badge")."""
    from dataclasses import replace

    from kiosk.config.schema import BadgesConfig, MilestoneConfig
    from kiosk.core.store.staff import CLI
    from kiosk.ui.requests import ResultRequest
    from kiosk.ui.screens.result import bonus_lines

    service = app.service
    badges = BadgesConfig(milestones=(MilestoneConfig(10, 50),))
    service.program = replace(service.program, badges=badges)
    result = None
    for day in range(9):  # the seeded member has one visit: these make ten
        clock.advance(days=1)
        result = service.earn(member_id, 1_250_000, cashier=CLI, client_txn_id=f"shot-{day}")
    assert result is not None
    app.go_home()
    app.counter.touched()  # the days just passed are no idle shopper
    app.counter.member_id = member_id
    lines = bonus_lines(result.bonuses, (), service.program)
    app.go(ResultRequest(kind="earn", points=result.points, balance=result.balance, lines=lines))
    yield "result-badge"
    app.go_home()
    app.counter.member_id = member_id
    app.go("member")
    yield "member-badge"
    app.go_home()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
