"""Start the touch app from the configuration: window settings first, then Kivy."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from kiosk.appliance import logs
from kiosk.config import KioskConfig
from kiosk.core.service import LoyaltyService


def configure_kivy(config: KioskConfig, data_dir: Path) -> None:
    """Settings Kivy reads once, before its window exists: size, fullscreen, no args."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # Kivy logs through Python's logging (to the journal on a device) and leaves stderr
    # alone; in its own mode it swallows stderr, tracebacks included.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    # Kivy writes its own config and logs here, not in the user's home.
    os.environ.setdefault("KIVY_HOME", str(data_dir / "kivy"))
    from kivy.config import Config

    ui = config.ui
    Config.set("graphics", "width", str(ui.width))
    Config.set("graphics", "height", str(ui.height))
    Config.set("graphics", "fullscreen", "auto" if ui.fullscreen else "0")
    Config.set("graphics", "show_cursor", "1" if ui.show_cursor else "0")
    Config.set("kivy", "exit_on_escape", "0")
    # A touchscreen is the only input; a mouse's right button would draw red dots.
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run_app(service: LoyaltyService, config: KioskConfig, data_dir: Path) -> int:
    """Open the kiosk window on the configured readers and CRM; returns the exit code."""
    logs.configure(logging.INFO)
    configure_kivy(config, data_dir)
    from kiosk.appliance.watchdog import Notifier
    from kiosk.ui.app import KioskApp
    from kiosk.wiring import build_feedback, build_readers
    from sync.background import BackgroundSync, start_simulated_crm

    simulated_crm = None
    if config.device.simulated and not config.crm.url:
        # `kiosk run --sim`: a simulated CRM on loopback, its data in the data directory.
        simulated_crm, config = start_simulated_crm(data_dir, config)
    background = BackgroundSync(data_dir, config) if config.crm.url else None

    def sync_now() -> str:
        assert background is not None
        background.push_now()
        return "tech.sync_started"

    app = KioskApp(
        service,
        data_dir=data_dir,
        readers=build_readers(config, data_dir),
        feedback=build_feedback(config),
        sync_now=sync_now if background else None,
        poke_sync=background.push_now if background else None,
        notifier=Notifier(),  # systemd's, when run by loyalty-kiosk.service
    )
    if background is not None:
        background.on_status = app.sync_reported
        background.readers = lambda: [
            {"name": event.reader, "state": str(event.state)}
            for event in list(app.reader_states.values())
        ]
        background.start()
    try:
        app.run()
    finally:
        if background is not None:
            background.stop()
        if simulated_crm is not None:
            simulated_crm.stop()
    return app.exit_code
