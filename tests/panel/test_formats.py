"""The panel's filters and catalogues: Jalali dates, money in the chain's unit, Persian
digits, masked phones; every catalogue compiled as its .po says."""

from __future__ import annotations

import gettext
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _django(django_in_process: None) -> None:
    """Django's settings in this process (no database is touched by these tests)."""


def shown(language: str, text: str, **context: object) -> str:
    """A template `text` rendered in `language`, in Tehran's time."""
    from django.template import Context, Template
    from django.utils import timezone, translation

    with translation.override(language), timezone.override(ZoneInfo("Asia/Tehran")):
        return Template("{% load panel %}" + text).render(Context(context))


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        ("fa", date(2026, 12, 6), "۱۴۰۵/۰۹/۱۵"),
        ("en", date(2026, 12, 6), "2026-12-06"),
        # 20:45 UTC is a quarter past midnight in Tehran, the next day.
        ("fa", datetime(2026, 12, 6, 20, 45, tzinfo=UTC), "۱۴۰۵/۰۹/۱۶ ۰۰:۱۵"),
        ("en", datetime(2026, 12, 6, 20, 45, tzinfo=UTC), "2026-12-07 00:15"),
        ("fa", datetime(2026, 3, 20, 20, 30, tzinfo=UTC), "۱۴۰۵/۰۱/۰۱ ۰۰:۰۰"),  # Nowruz
    ],
)
def test_dates_are_jalali_in_persian_and_gregorian_in_english(language, value, expected):
    assert shown(language, "{{ value|jalali }}", value=value) == expected


@pytest.mark.parametrize(
    ("language", "rial", "expected"),
    [
        ("fa", 12_500_000, "۱٬۲۵۰٬۰۰۰ تومان"),
        ("en", 12_500_000, "1,250,000 Toman"),
        ("en", 12_345, "1,234.5 Toman"),
        ("fa", 12_345, "۱٬۲۳۴٫۵ تومان"),
        ("en", 0, "0 Toman"),
        ("en", -5_000, "-500 Toman"),
    ],
)
def test_money_is_shown_in_toman_grouped_with_the_languages_digits(language, rial, expected):
    assert shown(language, "{{ rial|money }}", rial=rial) == expected


def test_digits_are_persian_in_persian_only():
    assert shown("fa", "{{ n|digits }}", n=1405) == "۱۴۰۵"
    assert shown("en", "{{ n|digits }}", n=1405) == "1405"


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        ("fa", "1.25", "۱٫۲۵"),  # the Persian decimal point, not a Latin full stop
        ("fa", "10,000", "۱۰٬۰۰۰"),
        ("fa", -5, "-۵"),
        ("fa", "percent-10", "percent-۱۰"),  # not a number: its digits only
        ("fa", "Gold, premium", "Gold, premium"),
        ("en", "1.25", "1.25"),
        ("en", "10,000", "10,000"),
    ],
)
def test_numbers_are_written_as_the_pages_language_writes_them(language, value, expected):
    assert shown(language, "{{ v|numeral }}", v=value) == expected


@pytest.mark.parametrize(
    ("language", "value", "sign", "expected"),
    [
        ("fa", 1_250_000, "", "۱٬۲۵۰٬۰۰۰"),
        ("en", 1_250_000, "", "1,250,000"),
        ("fa", 999, "", "۹۹۹"),
        ("fa", -12_500, "", "-۱۲٬۵۰۰"),
        ("en", -12_500, "", "-12,500"),
        ("fa", 2500, "+", "+۲٬۵۰۰"),
        ("en", 25, "+", "+25"),
        ("en", -25, "+", "-25"),
        ("fa", "1234.5", "", "۱٬۲۳۴٫۵"),
        ("fa", "3", "", "۳"),
        ("fa", "v3-a", "", "v۳-a"),  # not a number: its digits only
        ("en", None, "", ""),
    ],
)
def test_number_groups_thousands_with_the_pages_digits(language, value, sign, expected):
    """The `number` filter the members pages and the dashboard show counts with."""
    template = '{{ v|number:"+" }}' if sign else "{{ v|number }}"
    assert shown(language, template, v=value) == expected


def test_roles_are_named_in_the_pages_language():
    assert shown("fa", "{{ r|role_name }}", r="owner") == "مالک"
    assert shown("en", "{{ r|role_name }}", r="manager") == "Branch manager"


@pytest.mark.parametrize(
    ("phone", "expected"),
    [("+989121234567", "+98912***4567"), ("+4915112345678", "+491511***5678"), ("12345", "*****")],
)
def test_a_masked_phone_keeps_too_little_to_call(phone, expected):
    assert shown("en", "{{ p|mask_phone }}", p=phone) == expected
    assert "1234567"[-7:] not in shown("en", "{{ p|mask_phone }}", p=phone)


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("1405/09/15", date(2026, 12, 6)),
        ("۱۴۰۵/۰۹/۱۵", date(2026, 12, 6)),
        ("2026-12-06", date(2026, 12, 6)),
    ],
)
def test_an_audit_filter_day_is_read_in_either_calendar(typed, day):
    from hub.panel.audit_log import parse_day

    assert parse_day(typed) == day


def catalogues() -> list[Path]:
    return sorted((ROOT / "hub").rglob("locale/*/LC_MESSAGES/django.po"))


@pytest.mark.parametrize("po", catalogues(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_catalogue_is_translated_and_compiled_as_committed(po: Path):
    # The .mo files are committed (a hub server installs from the wheel, without gettext):
    # this is what keeps them equal to their .po (`make translations` compiles them).
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    untranslated = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert untranslated == [], f"translate these in {po} (a fuzzy one is a guess)"
    for message in catalogue:
        if message.id and not message.fuzzy and isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, message.id


def test_a_kiosks_health_figures_read_in_the_pages_language():
    assert shown("fa", "{{ b|disk_size }}", b=6442450944) == "۶٫۰ گیگابایت"
    assert shown("en", "{{ b|disk_size }}", b=6442450944) == "6.0 GB"
    assert shown("fa", '{{ m|stringformat:"+d"|numeral }}', m=-40) == "-۴۰"
    assert shown("fa", "{{ s|reader_state }}", s="connected") == "وصل"
    assert shown("fa", "{{ s|reader_state }}", s="melted") == "melted"  # as reported


def test_every_ledger_kind_has_a_name_in_both_languages():
    from hub.ledger.checks import KINDS

    for kind in sorted(KINDS):
        english = shown("en", "{{ k|entry_kind }}", k=kind)
        persian = shown("fa", "{{ k|entry_kind }}", k=kind)
        assert english != kind and not persian.isascii(), kind


@pytest.mark.parametrize(
    ("language", "detail", "lines"),
    [
        (
            "fa",
            {"points": -12500, "confirmed": False},
            [("تأیید مالک", "خیر"), ("امتیاز", "-۱۲٬۵۰۰")],
        ),
        (
            "en",
            {"points": -12500, "confirmed": False},
            [("owner's confirmation", "no"), ("points", "-12,500")],
        ),
        ("fa", {"by": ["phone", "name"]}, [("جست‌وجو با", "تلفن، نام")]),
        ("en", {"by": ["phone", "name"]}, [("searched by", "phone, name")]),
        # A time in the detail: the page's calendar, Tehran's clock.
        ("fa", {"at": "2026-12-06T20:45:00Z"}, [("at", "۱۴۰۵/۰۹/۱۶ ۰۰:۱۵")]),
        ("en", {"at": "2026-12-06T20:45:00Z"}, [("at", "2026-12-07 00:15")]),
        (
            "en",
            {"refused": "not_found", "odd": "as-is"},
            [("odd", "as-is"), ("refused", "not found or not theirs")],
        ),
        ("en", None, []),
    ],
)
def test_an_audit_detail_reads_as_lines_in_the_pages_language(language, detail, lines):
    from django.utils import timezone, translation

    from hub.panel.audit_log import detail_lines

    with translation.override(language), timezone.override(ZoneInfo("Asia/Tehran")):
        assert detail_lines(detail) == lines
