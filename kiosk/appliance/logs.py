"""Log lines for journald: plain, one per event, with a level; never personal data.

Under systemd (`$JOURNAL_STREAM` set) each line starts with the syslog priority in the
form sd-daemon(3) describes (`<4>` for a warning), so `journalctl -p warning` works;
elsewhere it starts with the level's name. journald adds the time and the unit.

Callers log ids, counts and codes, never a phone number, a card UID, a name or a
birthday, nor the repr of an object holding one. As a second line of defence every record
is masked twice: by field (`log_fields.py`: the values of personal fields in its
arguments, its exception and its traceback's variables), then by pattern (`redact()`:
anything shaped like a mobile number or a bare card UID), whatever a library or a future
change puts in a message.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from kiosk.appliance.log_fields import mask, personal_values

# A mobile number as typed or stored (+98 912 ..., 0098-912-..., 0912.345.6789, (0912) ...,
# Persian digits too, %2B98... in a query string), and a card UID as the readers give it:
# 8, 10 (EM4100), 14 or 20 hex digits standing alone.
_D, _ZERO, _NINE, _EIGHT = "[0-9۰-۹٠-٩]", "[0۰٠]", "[9۹٩]", "[8۸٨]"
_SEP = r"[ .\-\u00a0]?"
_PHONE = re.compile(
    rf"(?<![\w.-])(?:\+|%2[Bb]|00|{_ZERO}{_ZERO})?(?:{_NINE}{_EIGHT})?{_SEP}\(?{_ZERO}?{_SEP}"
    rf"{_NINE}(?:\)?{_SEP}{_D}){{9}}(?![\w-]|\.{_D})"
)
_UID = re.compile(
    r"(?<![\w-])(?:[0-9A-Fa-f]{20}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{10}|[0-9A-Fa-f]{8})(?![\w-])"
    # 04:A2:3B:4C (4, 7 or 10 bytes; a time, 11:44:05, has only three parts)
    r"|(?<![\w:])(?:[0-9A-Fa-f]{2}:){3,9}[0-9A-Fa-f]{2}(?![\w:])"
)
# urllib3 logs every request's line at DEBUG ("GET /v2/members?card=04A2... 200") and a
# retried one's URL at WARNING, and the sync's lookup asks `GET /v2/members?card=` or
# `?phone=` (protocol v2). The fix at the source would be the key in a POST body; that
# changes the protocol at the hub, the simulated CRM and every older kiosk at once, so
# until it does the request line is kept out of the kiosk's logs where it is made, for
# every handler (not only ours, whose patterns miss a ten-digit EM4100 id): urllib3's
# loggers go no lower than WARNING (what a technician needs: retries, a pool full), and a
# filter cuts the query string off any URL they still log.
_URLLIB3_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)
_QUERY = re.compile(r"\?[^\s'\"]*")
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def redact(text: str) -> str:
    """`text` with phone numbers and card UIDs masked."""
    text = _PHONE.sub("[phone]", text)
    return _UID.sub(lambda m: m.group(0) if m.group(0).isdigit() else "[card]", text)


class Redacting(logging.Formatter):
    """Formats a record (with its traceback), then masks personal data in all of it: the
    values of personal fields it carries (`log_fields`), then whatever has their shape."""

    def __init__(self, journal: bool) -> None:
        super().__init__(
            "%(name)s: %(message)s" if journal else "%(levelname)s %(name)s: %(message)s"
        )
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        try:
            values = personal_values(record)
        except Exception:  # an odd object in a frame must not lose the line (or leak it)
            values = {}
        text = redact(mask(super().format(record), values))
        if not self.journal:
            return text
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        # journald reads the prefix of each line; a traceback's lines get it too.
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


class WithoutQuery(logging.Filter):
    """Cuts every query string out of a record's message and arguments (a URL's `?...`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, its URLs without their queries."""
        if isinstance(record.msg, str):
            record.msg = _QUERY.sub("?[query]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY.sub("?[query]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def quiet_urllib3() -> None:
    """urllib3's loggers at WARNING at least, their URLs without queries (see above)."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
        if not any(isinstance(f, WithoutQuery) for f in logger.filters):
            logger.addFilter(WithoutQuery())


def configure(
    level: int = logging.INFO,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Send every log record to stderr (journald under systemd), redacted; the handler."""
    env = os.environ if environ is None else environ
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Redacting(journal=bool(env.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, Redacting)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_urllib3()
    quiet_scheduler()
    return handler


def quiet_scheduler() -> None:
    """APScheduler at WARNING at least: at INFO it writes two lines for every run of every
    job ("Running job", "executed successfully"), the watchdog's ping among them, which
    buries the journal and wears the SD card. A late run, a skipped run and a job's
    exception are warnings or errors, and still reach it."""
    logger = logging.getLogger("apscheduler")
    if logger.level < logging.WARNING:
        logger.setLevel(logging.WARNING)
