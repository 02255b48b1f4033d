"""A lookup at the CRM logs nothing that identifies the shopper, even at DEBUG.

The sync's lookup asks `GET /v2/members?card=` (or `?phone=`), and urllib3 logs each
request line at DEBUG. With the kiosk's logging set up (kiosk/appliance/logs.py
`configure`, at DEBUG) no record any handler receives carries the card or the phone:
pytest's own handler (caplog) sees the raw records, before the kiosk's masking formatter.
Real kiosks against the simulated CRM over HTTP on loopback, found and not found, and a
CRM that drops the connection once (urllib3's error path).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from kiosk.appliance import logs
from kiosk.core.clock import ManualClock
from kiosk.errors import UnknownCard, UnknownMember
from sim.crm import CrmServer
from sim.crm_faults import Faults
from tests.test_member_lookup import CARD, PHONE, crm, kiosks, lookups, shopper_of_b

__all__ = ["crm", "kiosks"]

OTHER_PHONE, OTHER_CARD = "09127654321", "0BADCAFE"  # no member's


def forms(phone: str) -> tuple[str, ...]:
    """The forms a phone could take in a URL or a line."""
    e164 = "+98" + phone[1:]
    return phone, phone[1:], e164, quote(e164, safe="")


IDENTIFYING = (*forms(PHONE), *forms(OTHER_PHONE), CARD, CARD.lower(), OTHER_CARD)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The kiosk's logging at DEBUG, its journal stream; pytest capturing every record."""
    urllib3 = {n: logging.getLogger(n) for n in logs._URLLIB3_LOGGERS}
    before = {n: (lg.level, list(lg.filters)) for n, lg in urllib3.items()}
    stream = io.StringIO()
    handler = logs.configure(logging.DEBUG, stream=stream, environ={})
    caplog.set_level(logging.DEBUG)
    yield stream
    logging.getLogger().removeHandler(handler)
    for name, (level, filters) in before.items():
        urllib3[name].setLevel(level)
        urllib3[name].filters[:] = filters


def assert_nothing_identifying(caplog: pytest.LogCaptureFixture, stream: io.StringIO) -> None:
    seen = [r.getMessage() for r in caplog.records]
    seen += [caplog.text, stream.getvalue()]
    for text in seen:
        for value in IDENTIFYING:
            assert value not in text, (value, text)


def test_a_lookup_by_card_and_by_phone_logs_neither_at_debug(
    crm: CrmServer,
    kiosks: object,
    clock: ManualClock,
    debug_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    b, a = kiosks(crm, "kiosk-b"), kiosks(crm, "kiosk-a")  # type: ignore[operator]
    member_id = shopper_of_b(b, clock)
    caplog.clear()
    asked = lookups(crm)

    assert a.service.identify_card(CARD).member_id == member_id
    with pytest.raises(UnknownMember):
        a.service.identify_phone(OTHER_PHONE)
    with pytest.raises(UnknownCard):
        a.service.identify_card(OTHER_CARD)

    assert asked == ["/v2/members"] * 3  # they were asked over HTTP
    assert_nothing_identifying(caplog, debug_logs)


def test_a_lookup_whose_connection_drops_logs_neither(
    crm: CrmServer,
    kiosks: object,
    clock: ManualClock,
    debug_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shopper_of_b(kiosks(crm, "kiosk-b"), clock)  # type: ignore[operator]
    with CrmServer(crm.store, faults=Faults.parse("reset=1")) as faulty:
        a = kiosks(faulty, "kiosk-a")  # type: ignore[operator]
        caplog.clear()

        with pytest.raises(UnknownMember):
            a.service.identify_phone(PHONE)
        with pytest.raises(UnknownCard):
            a.service.identify_card(CARD)

    assert_nothing_identifying(caplog, debug_logs)
