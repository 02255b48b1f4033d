"""A child process for the crash test: records earns and prints each id once it is committed.

Run as `python -m tests.crash_writer DATA_DIR RUN`; the parent kills it with SIGKILL at
random moments. A line on stdout means the service returned, so the entry is durable.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from kiosk.bootstrap import Appliance
from kiosk.core.store.staff import Actor
from kiosk.errors import AlreadyEnrolled
from tests.conftest import NO_SYSTEM_CONFIG, TEST_OVERRIDES

OVERRIDES = (
    *TEST_OVERRIDES,
    "program.limits.min_minutes_between_earns=0",
    "program.limits.max_earns_per_day=0",
)


def main() -> None:
    from kiosk.config import load_config

    data_dir, run = Path(sys.argv[1]), sys.argv[2]
    config = load_config(None, OVERRIDES, environ={}, system_file=NO_SYSTEM_CONFIG)
    service = Appliance(config, data_dir).open_service()
    cashier = Actor("s-crash", "cashier")
    members = []
    for n in range(3):
        phone = f"0912000000{n}"
        with contextlib.suppress(AlreadyEnrolled):
            service.enroll(phone, client_txn_id=f"enroll-{n}")
        members.append(service.identify_phone(phone).member_id)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        member = members[i % len(members)]
        result = service.earn(
            member, 100_000 * (1 + i % 50), cashier=cashier, client_txn_id=f"{run}-{i}"
        )
        print(result.entry_id, flush=True)
        if i % 7 == 0:
            voided = service.void(
                result.entry_id,
                reason="crash test",
                cashier=cashier,
                client_txn_id=f"{run}-{i}-void",
            )
            print(voided.entry_id, flush=True)


if __name__ == "__main__":
    main()
