"""The personal values a log record carries, found by field name rather than by shape.

A pattern cannot tell a name ("Sara"), a birthday (1990-05-01, like any date) or an
EM4100 card id of ten decimal digits from the words and figures a log needs. Their fields
can: `logs.Redacting` masks, wherever they appear in the formatted text (the traceback
too), the values held under a personal field name by

- the record's arguments and its `personal` extra (`extra={"personal": event}`), when they
  are dataclasses or mappings (a `CardPresented`, a `Member` and its `Person`, a change's
  data), a level or two deep;
- the exception being logged, its cause and its context: their arguments and fields, and
  the variables of every frame of their tracebacks (the `uid` of the handler that failed,
  the `member` being enrolled).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date
from itertools import islice
from types import TracebackType
from typing import Any

# Field name -> what replaces its value.
PERSONAL_FIELDS = {
    "uid": "[card]",
    "card": "[card]",
    "card_uid": "[card]",
    "cards": "[card]",
    "phone": "[phone]",
    "name": "[name]",
    "first_name": "[name]",
    "last_name": "[name]",
    "member_name": "[name]",
    "birthday": "[birthday]",
    "birth_date": "[birthday]",
}
# A bare variable called `name` is a reader's, a screen's or a file's as often as a person's:
# it counts only in a frame that also holds one of these.
_PERSON_BESIDE = ("phone", "birthday", "member_id", "person")
_DEPTH = 3
_SHORTEST = 3  # a shorter value would mask parts of words
_MOST = 200  # items looked at in one list or mapping: a log line stays cheap


def personal_values(record: logging.LogRecord) -> dict[str, str]:
    """Each personal value the record carries (as text) -> its mask."""
    found: dict[str, str] = {}
    args = record.args
    for value in args.values() if isinstance(args, Mapping) else args or ():
        _collect(value, found, _DEPTH)
    _collect(getattr(record, "personal", None), found, _DEPTH)
    exc = record.exc_info[1] if record.exc_info else None
    for link in _chain(exc):  # the traceback shows the cause and the context too
        for arg in link.args:
            _collect(arg, found, _DEPTH)
        _collect(getattr(link, "__dict__", None), found, _DEPTH)  # an error's own fields
        for frame_locals in _frames(link.__traceback__):
            _collect_locals(frame_locals, found)
    return found


def mask(text: str, values: Mapping[str, str]) -> str:
    """`text` with each of `values` (standing alone, not inside a word) replaced by its mask."""
    for value in sorted(values, key=len, reverse=True):  # "Sara Ahmadi" before "Sara"
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", values[value], text)
    return text


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(seen) < 8:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _frames(tb: TracebackType | None) -> Iterator[Mapping[str, Any]]:
    while tb is not None:
        yield tb.tb_frame.f_locals
        tb = tb.tb_next


def _collect_locals(frame_locals: Mapping[str, Any], found: dict[str, str]) -> None:
    person_beside = any(key in frame_locals for key in _PERSON_BESIDE)
    for key, value in frame_locals.items():
        if key == "name" and not person_beside:
            continue
        if key in PERSONAL_FIELDS:
            _add(value, PERSONAL_FIELDS[key], found, _DEPTH - 1)
        else:
            _collect(value, found, _DEPTH - 1)


def _collect(value: Any, found: dict[str, str], depth: int) -> None:
    if depth <= 0 or value is None or isinstance(value, str | bytes | int | float):
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items: Iterator[tuple[str, Any]] = (
            (f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value)
        )
    elif isinstance(value, Mapping):
        items = ((str(k), v) for k, v in islice(value.items(), _MOST))
    elif isinstance(value, list | tuple):
        for item in value[:_MOST]:
            _collect(item, found, depth - 1)
        return
    else:
        return
    for key, item in items:
        if key in PERSONAL_FIELDS:
            _add(item, PERSONAL_FIELDS[key], found, depth - 1)
        else:
            _collect(item, found, depth - 1)


def _add(value: Any, replacement: str, found: dict[str, str], depth: int) -> None:
    if isinstance(value, str):
        if len(value.strip()) >= _SHORTEST:
            found[value.strip()] = replacement
    elif isinstance(value, date):
        found[value.isoformat()] = replacement
        found[repr(value)] = replacement
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value)[:_MOST]:
            _add(item, replacement, found, depth)
    else:  # a Card under `card`: its own fields say what is personal
        _collect(value, found, depth)
