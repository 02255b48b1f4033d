"""The defects fuzzing found, and what every fuzzing test shares to meet them.

`KNOWN_DEFECTS` names each way the product broke: the test that shows it (in the test file
of its entry point), what it raised and where ("file.py:function" of the innermost product
frame), and whether it is fixed. `attempt` runs one input: its value, the refusal the entry
point promises, or an open known defect (counted); anything else fails the test. The
inputs tried and the defects met are counted here and written to `KIOSK_FUZZ_COUNTS` after
every test (`conftest.py`), for `tests/torture/fuzz.py`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, event, settings

from kiosk.config import ConfigError
from kiosk.errors import KioskError
from kiosk.text.i18n import translated_keys
from sync.client import CrmError

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES") or 30)
COUNTS_FILE = os.environ.get("KIOSK_FUZZ_COUNTS", "")

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)

TRIED: Counter[str] = Counter()
DEFECTS_MET: Counter[str] = Counter()


def tried(entry_point: str) -> None:
    """Count one input given to `entry_point` ("phone.normalize": entry point "phone")."""
    TRIED[entry_point] += 1


@dataclass(frozen=True)
class Defect:
    """A way the product broke: the test that shows it, and how to recognise it while open."""

    test: str
    exceptions: tuple[type[BaseException], ...]
    places: tuple[str, ...] = ()  # "file.py:function" of the innermost product frame; () any
    text: str = ""  # a part of str(exception), or ""
    reason: str = ""  # "file.py:function: what happens", for the xfail and the report
    fixed: bool = False  # fixed since it was found: its test is a plain regression test


# Defects seen by what the product did, not by an exception it raised.
ORACLE_DEFECTS = ("crm_redirect_taken_as_success", "outbox_boolean_seq")
KNOWN_DEFECTS: dict[str, Defect] = {
    "config_datetime_dates": Defect(
        "test_defect_config_datetime_reward_dates",
        (TypeError,),
        ("kiosk/config/rules.py:_validate",),
        "can't compare",
        reason="kiosk/config/rules.py:_validate: a TOML datetime as a reward's active_from beside "
        "a date "
        "active_until raises TypeError (can't compare datetime.datetime to datetime.date)",
        fixed=True,
    ),
    "config_long_data_dir": Defect(
        "test_defect_config_data_dir_name_too_long",
        (OSError,),
        ("kiosk/config/loading.py:load_config",),
        reason="kiosk/config/loading.py:load_config: a data directory (paths.data_dir, -o, "
        "--data-dir) "
        "with a name over 255 bytes raises OSError (File name too long) from Path.exists()",
        fixed=True,
    ),
    "crm_retry_after_digits": Defect(
        "test_defect_crm_retry_after_superscript_digit",
        (ValueError,),
        ("sync/client.py:retry_after",),
        reason="sync/client.py:retry_after: 'Retry-After: ²' (str.isdigit() is true for "
        "superscripts) raises ValueError from float() out of the client",
        fixed=True,
    ),
    "crm_date_without_zone": Defect(
        "test_defect_crm_date_header_without_zone",
        (TypeError,),
        ("sync/client.py:_note_clock",),
        "offset-naive and offset-aware",
        reason="sync/client.py:_note_clock: a Date header without a zone ('... 09:00:00' or "
        "'-0000') raises TypeError (offset-naive minus offset-aware) on every answer",
        fixed=True,
    ),
    "crm_error_body_nesting": Defect(
        "test_defect_crm_error_answer_deeply_nested",
        (RecursionError,),
        ("sync/client.py:_error",),
        reason="sync/client.py:_error: an error answer (>= 400) whose body is deeply nested JSON "
        "raises RecursionError (only ValueError and AttributeError are caught)",
        fixed=True,
    ),
    "worker_far_retry_after": Defect(
        "test_defect_worker_status_after_a_far_retry_after",
        (ValueError, OverflowError),
        ("sync/worker.py:_iso",),
        reason="sync/worker.py:_iso: after 'Retry-After: 99999999999999' (or 400 digits: inf) "
        "the stored next attempt is beyond year 9999; SyncWorker.status() (kiosk sync status) "
        "raises ValueError/OverflowError",
        fixed=True,
    ),
    "pull_program_not_an_object": Defect(
        "test_defect_pull_program_change_that_is_not_an_object",
        (AttributeError,),
        ("kiosk/core/pulled.py:program_override",),
        reason="kiosk/core/pulled.py:program_override: a pulled `program` change whose data is a "
        "string is stored, then 'str' has no .get: SyncWorker.pull raises AttributeError, and so "
        "does every LoyaltyService.open afterwards (the kiosk cannot start)",
        fixed=True,
    ),
    "pull_malformed_change": Defect(
        "test_defect_pull_malformed_change_escapes_the_worker",
        (
            AttributeError,
            KeyError,
            TypeError,
            ValueError,
            OverflowError,
            sqlite3.IntegrityError,
            sqlite3.ProgrammingError,
        ),
        tuple(
            f"kiosk/core/pulled.py:{name}"
            for name in ("apply_page", "_member", "_balance", "_erasure", "_staff", "_program")
        ),
        reason="kiosk/core/pulled.py:apply_page/_member/_balance/_staff: a change that is not an "
        "object, or data with a field missing or of the wrong type, raises AttributeError/KeyError/"
        "TypeError/ValueError/sqlite3 errors out of SyncWorker.pull (the page is rolled back; the "
        "feed is stuck on it for good)",
        fixed=True,
    ),
    "outbox_rejected_without_entry_id": Defect(
        "test_defect_push_answer_rejecting_a_seq_not_in_the_batch",
        (KeyError,),
        ("kiosk/core/store/outbox.py:acknowledge",),
        reason="kiosk/core/store/outbox.py:Outbox.acknowledge: a push answer rejecting a seq "
        "that is not in "
        "the batch without an entry_id ({'high_water': 0, 'rejected': [{'seq': 0}]}) raises "
        "KeyError out of SyncWorker.drain (None == None matches the missing entry)",
        fixed=True,
    ),
    "crm_redirect_taken_as_success": Defect(
        "test_defect_crm_redirect_answer_taken_as_success",
        (),  # not an exception: the tests count it where the oracle meets it
        reason="sync/client.py:CrmClient._request: every status below 400 is a success: a push "
        "answered '302 Found' (or 300) with {\"high_water\": 6} acknowledges the whole outbox",
        fixed=True,
    ),
    "outbox_boolean_seq": Defect(
        "test_defect_push_answer_rejecting_with_a_boolean_seq",
        (),  # not an exception: the tests count it where the oracle meets it
        reason="kiosk/core/store/outbox.py:Outbox.acknowledge: a rejection whose seq is JSON true "
        "({'seq': true, 'entry_id': <entry 1>}) flags entry 1 as rejected (isinstance(True, "
        "int)): a malformed answer changes the outbox",
        fixed=True,
    ),
    "config_huge_integer_literal": Defect(
        "test_defect_config_integer_of_more_than_4300_digits",
        (ValueError,),
        (
            "kiosk/config/loading.py:load_config",
            "kiosk/config/loading.py:_parse_override",
            "kiosk/config/loading.py:_provisioned_layer",
        ),
        "integer string conversion",
        reason="kiosk/config/loading.py:load_config: a config file (or -o value) with an integer "
        "of "
        "more than 4300 digits raises ValueError (Python's int-string limit; only "
        "TOMLDecodeError is caught)",
        fixed=True,
    ),
    "cli_undecodable_argument": Defect(
        "test_defect_cli_argument_with_undecodable_bytes",
        (UnicodeEncodeError,),
        (),
        "surrogates not allowed",
        reason="kiosk/cli/__init__.py:main: an argument with undecodable bytes, as Python reads "
        "them from argv (kiosk member enroll --name $'\\xff'), reached SQLite "
        "(kiosk/core/store/members.py) and raised UnicodeEncodeError (surrogates not allowed)",
        fixed=True,
    ),
    "cli_huge_integer": Defect(
        "test_defect_cli_huge_integer_option",
        (OverflowError,),
        (),
        "too large to convert to SQLite INTEGER",
        reason="kiosk/core/store/audit.py:recent: kiosk audit --limit 99999999999999999999999 "
        "(and kiosk "
        "adjust --points 10**23) raised OverflowError (too large for SQLite INTEGER)",
        fixed=True,
    ),
    "cli_export_output": Defect(
        "test_defect_cli_export_to_a_path_that_cannot_be_written",
        (OSError,),
        ("kiosk/cli/admin.py:ledger_export", "kiosk/cli/members.py:export_cmd"),
        reason="kiosk/cli/admin.py:ledger_export (and member export): --output naming a "
        "directory or a file in a missing folder raises IsADirectoryError/FileNotFoundError",
        fixed=True,
    ),
    "cli_backup_keep": Defect(
        "test_defect_cli_backup_keep_below_one",
        (ValueError,),
        ("kiosk/appliance/backup.py:backup",),
        "keep at least one",
        reason="kiosk/appliance/backup.py:backup: kiosk backup --keep 0 (or -5) raises ValueError "
        "('keep at least one backup') out of the command instead of a refusal",
        fixed=True,
    ),
    "reader_url_pattern": Defect(
        "test_defect_reader_url_with_a_bad_pattern",
        (re.error,),
        ("drivers/keyboard.py:__init__",),
        reason="drivers/keyboard.py:KeyboardWedgeReader.__init__: the reader URL "
        "'evdev:/dev/input/event3?pattern=[' raises re.error, not ReaderUrlError",
        fixed=True,
    ),
}


def write_counts() -> None:
    """Write what was tried and the known defects met to `KIOSK_FUZZ_COUNTS`, if it is set."""
    if COUNTS_FILE:
        path = Path(COUNTS_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "tried": dict(sorted(TRIED.items())),
            "defects": dict(sorted(DEFECTS_MET.items())),
            "registry": {
                name: {"fixed": defect.fixed, "reason": defect.reason}
                for name, defect in sorted(KNOWN_DEFECTS.items())
            },
        }
        temporary = path.with_name(path.name + ".new")
        temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
        temporary.replace(path)


def defect_test(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The test showing defect `name`: a strict xfail while it is open, plain once fixed."""
    defect = KNOWN_DEFECTS[name]
    if defect.fixed:
        return lambda test: test
    return pytest.mark.xfail(strict=True, reason=defect.reason)


def product_place(error: BaseException) -> str:
    """Where in the product `error` was raised: "file.py:function" of the innermost frame."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.name.startswith("<"):  # a comprehension or lambda: its function says more
            continue
        try:
            relative = Path(frame.filename).resolve().relative_to(ROOT)
        except ValueError:
            continue
        if relative.parts and relative.parts[0] in ("kiosk", "sync", "drivers", "sim"):
            return f"{relative.as_posix()}:{frame.name}"
    return "?"


def known_defect(error: BaseException) -> str | None:
    """The name of the known defect `error` shows, if it shows one."""
    place = product_place(error)
    for name, defect in KNOWN_DEFECTS.items():
        if (
            not defect.fixed
            and isinstance(error, defect.exceptions)
            and (not defect.places or place in defect.places)
            and defect.text in str(error)
        ):
            return name
    return None


@functools.cache
def catalogue_keys() -> frozenset[str]:
    """The message keys both catalogues translate."""
    return frozenset(translated_keys("fa") & translated_keys("en"))


def check_refusal(error: BaseException) -> None:
    """A refusal a person (or technician) can act on: a text, and a key or the problems."""
    assert str(error).strip(), f"{type(error).__name__} without a message"
    if isinstance(error, KioskError):
        assert error.key in catalogue_keys(), f"{error.key!r} is in no catalogue ({error})"
    elif isinstance(error, ConfigError):
        assert error.problems, "a ConfigError without problems"
        for problem in error.problems:
            assert problem.message and problem.source, problem
    elif isinstance(error, CrmError):
        assert isinstance(error.code, str) and error.code, error


class Outcome(NamedTuple):
    kind: str  # "ok", "refused" or "defect"
    value: Any
    error: BaseException | None


def attempt(
    call: Callable[[], Any], refusals: tuple[type[BaseException], ...] = (KioskError,)
) -> Outcome:
    """Run `call`: its value, or the refusal it is allowed, or a known defect; else raise."""
    try:
        return Outcome("ok", call(), None)
    except refusals as error:
        check_refusal(error)
        return Outcome("refused", None, error)
    except Exception as error:
        name = known_defect(error)
        if name is None:
            raise
        DEFECTS_MET[name] += 1
        event(f"known defect: {name}")
        return Outcome("defect", None, error)


def holds_or_known(
    check: Callable[[], bool], laxer: list[tuple[str, Callable[[], bool]]], what: str
) -> None:
    """`check` holds; or a laxer check that an open defect explains does (counted)."""
    if check():
        return
    for name, lax in laxer:
        if not KNOWN_DEFECTS[name].fixed and lax():
            DEFECTS_MET[name] += 1
            event(f"known defect: {name}")
            return
    raise AssertionError(what)
