"""The simulators' own reader scheme and feedback kind, registered with the drivers.

`drivers/` never imports `sim/`: the composition root (kiosk/bootstrap.py) calls
`register()` so that `sim:` reader and feedback URLs work, as a plug-in would.
"""

from __future__ import annotations

from drivers.base import Reader
from drivers.factory import ReaderUrl, register_scheme
from drivers.feedback import Feedback, register_feedback

# The control socket of a simulated reader, in the data directory (`kiosk sim tap`).
SIM_SOCKET = "sim-reader.sock"


def _sim_reader(where: ReaderUrl) -> Reader:
    from sim.reader import SimReader

    socket_path = where.data_dir / SIM_SOCKET if where.data_dir is not None else None
    return SimReader(where.url, socket_path=socket_path)


def _sim_feedback(_url: str) -> Feedback:
    from sim.feedback import SimFeedback

    return SimFeedback()


def register() -> None:
    """Register `sim:` readers and feedback (idempotent)."""
    register_scheme("sim", _sim_reader)
    register_feedback("sim", _sim_feedback)
