"""No card id, phone number, name or birthday in a log line, whatever its shape.

Before issue 16 the masker worked by pattern only: a reader's event handler that failed
logged the event's repr, `CardPresented(uid='0102030405', ...)`, and an EM4100 id of ten
digits has no shape a pattern may mask (an amount has it too); `0912.345.6789` and names
went through. Now the reader logs the event's kind only, the masker also masks by field
(the values of personal fields in a record's arguments, its exception and the variables of
its traceback: `kiosk/appliance/log_fields.py`), and the patterns know more phone forms.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import date

import pytest

from drivers.base import CardPresented, ThreadedReader
from kiosk.appliance import logs
from kiosk.core.service import LoyaltyService

EM4100_IDS = ["0102030405", "0F00A1B2C3"]


@pytest.fixture
def journal() -> Iterator[io.StringIO]:
    """What the kiosk's services write to the journal (the real log configuration)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    logs.configure(logging.INFO, stream=out, environ={})
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


class IdleReader(ThreadedReader):
    """A reader whose session only waits: the test presents the cards."""

    technology = "EM4100"

    def session(self) -> None:
        self.stopping.wait()


@pytest.mark.parametrize("uid", EM4100_IDS)
def test_a_failing_event_handler_logs_no_card_id(
    uid: str, journal: io.StringIO, caplog: pytest.LogCaptureFixture
):
    known: dict[str, str] = {}

    def handler(event: object) -> None:
        if isinstance(event, CardPresented):
            known[event.uid]  # a screen's bug: the card is not in its table (KeyError: uid)

    reader = IdleReader("rdm6300")
    reader.start(handler)
    try:
        with caplog.at_level(logging.ERROR, logger="drivers.base"):
            reader.card_present(uid)
    finally:
        reader.stop()

    assert [r.getMessage() for r in caplog.records] == [
        "reader rdm6300: the event handler failed on a CardPresented"
    ]
    written = journal.getvalue()
    assert "the event handler failed on a CardPresented" in written
    assert "KeyError" in written  # the traceback is still there for the technician
    assert uid not in written


@pytest.mark.parametrize(
    "phone",
    [
        "0912.345.6789",
        "+98 912 345 6789",
        "0098-912-345-6789",
        "(0912) 345 6789",
        "۰۹۱۲.۳۴۵.۶۷۸۹",
        "۰۰۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹",
        "+98 (912) 345-6789",
        "%2B989121234567",  # in a lookup's URL (/v2/members?phone=...), as urllib3 logs it
    ],
)
def test_every_form_of_a_phone_number_is_masked(phone: str):
    assert logs.redact(f"member {phone}.") == "member [phone]."


def test_a_member_logged_by_mistake_shows_none_of_their_data(
    service: LoyaltyService, journal: io.StringIO
):
    result = service.enroll(
        "09121234567",
        client_txn_id="e-1",
        name="Sara Ahmadi",
        birthday=date(1990, 5, 1),
        card="0102030405",
    )
    member = service.member(result.member_id)

    logging.getLogger("kiosk.test").warning("looked up %r", member)

    written = journal.getvalue()
    assert result.member_id in written  # the id is what a log names
    for personal in ("Sara", "Ahmadi", "1990", "0102030405", "9121234567"):
        assert personal not in written


def test_a_name_and_birthday_in_an_exception_are_masked_in_its_traceback(
    journal: io.StringIO,
):
    def greet(phone: str, name: str, birthday: date) -> None:
        raise ValueError(f"cannot greet {name}, born {birthday}, at {phone}")

    try:
        greet("0912.345.6789", "Sara Ahmadi", date(1990, 5, 1))
    except ValueError:
        logging.getLogger("kiosk.test").exception("greeting failed")

    written = journal.getvalue()
    assert "ValueError: cannot greet [name], born [birthday], at [phone]" in written
    for personal in ("Sara", "1990-05-01", "345"):
        assert personal not in written


def test_a_pulled_changes_data_in_a_failure_is_masked(journal: io.StringIO):
    data = {"member_id": "m-7", "phone": "+989121234567", "name": "Reza", "birthday": "1985-02-30"}

    try:
        date.fromisoformat(data["birthday"])
    except ValueError:
        logging.getLogger("sync.background").exception("pull failed on %s", data["member_id"])

    written = journal.getvalue()
    assert "pull failed on m-7" in written and "1985-02-30" not in written


def test_words_that_only_share_a_field_name_are_kept(journal: io.StringIO):
    name = "nfc"  # a reader's name, with no person beside it
    try:
        raise OSError(f"reader {name} went away")
    except OSError:
        logging.getLogger("drivers.base").exception("reader %s failed", name)

    written = journal.getvalue()
    assert "reader nfc failed" in written and "OSError: reader nfc went away" in written


def test_the_cause_of_an_error_is_masked_too(journal: io.StringIO):
    def look_up(card: str) -> None:
        raise LookupError(f"no member with card {card}")

    try:
        try:
            look_up("0102030405")
        except LookupError as exc:
            raise RuntimeError("the tap was lost") from exc
    except RuntimeError:
        logging.getLogger("kiosk.ui").exception("a tap failed")

    written = journal.getvalue()
    assert "LookupError: no member with card [card]" in written
    assert "0102030405" not in written
