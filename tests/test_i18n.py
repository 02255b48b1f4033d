"""Persian first: complete catalogues, right-to-left order, digits, money, dates."""

from __future__ import annotations

import ast
import gettext
import io
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from kiosk import errors
from kiosk.text.i18n import (
    LANGUAGES,
    LOCALE_DIR,
    MissingMessage,
    Texts,
    placeholders,
    translated_keys,
)
from kiosk.text.i18n_extract import extract_kv
from kiosk.text.messages import DYNAMIC_KEYS
from kiosk.text.money import Unit, parse_amount
from kiosk.text.rtl import ltr, visual

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"t": None, "tr": None, "say": None, "N_": None, "_message": None}


def keys_in_code() -> set[str]:
    """Every message key the code and the kv files name, as `make translations` finds them."""
    found: set[str] = set()
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        with path.open("rb") as handle:
            for found_item in extract_python(handle, KEYWORDS, [], {}):
                key: object = found_item[2]
                if isinstance(key, str):  # a call with several arguments gives a tuple
                    found.add(key)
    for path in sorted((ROOT / "kiosk").rglob("*.kv")):
        with path.open("rb") as handle:
            found.update(item[2] for item in extract_kv(handle, KEYWORDS, [], {}))
    return found


def error_keys() -> set[str]:
    """The key of every error class, and of every reason a core module raises with."""
    keys = {
        cls.key
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.KioskError)
    }
    families = {
        "InvalidPhone": "error.phone",
        "InvalidAmount": "error.amount",
        "LimitReached": "error.limit",
    }
    for path in (ROOT / "kiosk").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in families
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                keys.add(f"{families[node.func.id]}.{node.args[0].value!s}")
    # Refusals of a quote become LimitReached(quote.refusal): the reasons are the tuples'.
    keys |= {"error.limit.earns_per_day", "error.limit.too_soon"}
    # The parametrised classes have a family key besides their reasons; only reasons show.
    return keys - {"error.phone", "error.amount", "error.limit"}


# -- catalogues ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_code_uses_is_translated(language):
    missing = (keys_in_code() | set(DYNAMIC_KEYS)) - translated_keys(language)

    assert missing == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_error_a_person_can_meet_is_translated(language):
    assert error_keys() - translated_keys(language) == set()
    assert error_keys() <= set(DYNAMIC_KEYS)


def test_both_languages_have_the_same_keys_and_placeholders():
    fa, en = Texts("fa"), Texts("en")
    keys = translated_keys("fa") | translated_keys("en")

    different = {
        key: (placeholders(fa.template(key)), placeholders(en.template(key)))
        for key in keys
        if placeholders(fa.template(key)) != placeholders(en.template(key))
    }

    assert translated_keys("fa") == translated_keys("en")
    assert different == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(language):
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    with (folder / "kiosk.po").open("rb") as handle:
        source = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, source)
    compiled.seek(0)

    expected = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    with (folder / "kiosk.mo").open("rb") as handle:
        shipped = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]

    assert not source.fuzzy, "pybabel compile skips a fuzzy catalogue"
    assert shipped == expected, "run `make translations` after editing a .po file"


def test_a_missing_key_is_an_error_not_a_key_on_screen():
    with pytest.raises(MissingMessage):
        Texts("fa").tr("no.such.key")


def test_an_error_is_told_in_the_shoppers_language():
    error = errors.InsufficientPoints(balance=120, needed=200)

    assert Texts("fa").error(error) == "امتیاز کافی نیست: ۱۲۰ از ۲۰۰."
    assert Texts("en").error(error) == "Not enough points: 120 of 200."


# -- right-to-left order -------------------------------------------------------------------


def letters(shaped: str) -> str:
    """Shaped text back to plain letters (presentation forms -> letters), order kept."""
    return unicodedata.normalize("NFKC", shaped)


@pytest.mark.parametrize(
    ("logical", "rtl", "drawn_left_to_right"),
    [
        # Persian with a number and a unit: the number keeps its digit order.
        ("موجودی: ۱٬۲۵۰٬۰۰۰ تومان", True, "ناموت ۱٬۲۵۰٬۰۰۰ :یدوجوم"),
        # A percent sign stays with its number.
        ("۱۰٪ تخفیف", True, "فیفخت ۱۰٪"),
        # Latin with brackets inside Persian: one left-to-right island, brackets intact.
        ("کد (ABC-123) را نشان دهید", True, "دیهد ناشن ار (ABC-123) دک"),
        ("سارا (Sara) عزیز", True, "زیزع (Sara) اراس"),
        # A sentence that starts with a Latin name is still read right to left.
        ("Sara عزیز، خوش آمدید!", True, "!دیدمآ شوخ ،زیزع Sara"),
        # A phone number kept left to right inside Persian.
        ("موبایل: " + ltr("0912 345 6789"), True, "0912 345 6789 :لیابوم"),
        # English with a Persian name: the name's letters turn, the sentence does not.
        ("Welcome, سارا!", False, "Welcome, اراس!"),
        ("+۱۲۵ points", False, "+۱۲۵ points"),
        # Without the embedding, the groups of a phone number would be read backwards.
        ("موبایل: 0912 345 6789", True, "6789 345 0912 :لیابوم"),
    ],
)
def test_mixed_text_is_drawn_in_reading_order(logical, rtl, drawn_left_to_right):
    assert letters(visual(logical, rtl)) == drawn_left_to_right


def test_letters_are_joined():
    shaped = visual("سلام", True)

    assert shaped != "مالس"  # presentation forms, not isolated letters
    # Lam and alef become one ligature glyph, which NFKC spells back as "لا".
    assert letters(shaped) == "ملاس"


def test_latin_text_on_an_english_screen_is_untouched():
    assert visual("Tap your card (or type)", False) == "Tap your card (or type)"


def test_a_line_break_is_refused():
    with pytest.raises(ValueError, match="one line"):
        visual("یک\nدو", True)


# -- digits, numbers, money, dates ---------------------------------------------------------


def test_persian_numbers_have_persian_digits_and_separators():
    assert Texts("fa").number(12_500_000) == "۱۲٬۵۰۰٬۰۰۰"
    assert Texts("fa", persian_digits=False).number(12_500_000) == "12,500,000"
    assert Texts("en").number(12_500_000) == "12,500,000"


@pytest.mark.parametrize(
    ("unit", "rial", "fa", "en"),
    [
        ("toman", 0, "۰ تومان", "0 Toman"),
        ("rial", 0, "۰ ریال", "0 Rial"),
        ("toman", 12_500_000, "۱٬۲۵۰٬۰۰۰ تومان", "1,250,000 Toman"),
        ("rial", 12_500_000, "۱۲٬۵۰۰٬۰۰۰ ریال", "12,500,000 Rial"),
        ("toman", 12_345, "۱٬۲۳۴٫۵ تومان", "1,234.5 Toman"),
        # Over ten billion Rial.
        ("toman", 25_000_000_000, "۲٬۵۰۰٬۰۰۰٬۰۰۰ تومان", "2,500,000,000 Toman"),
        ("rial", 25_000_000_000, "۲۵٬۰۰۰٬۰۰۰٬۰۰۰ ریال", "25,000,000,000 Rial"),
    ],
)
def test_money_is_shown_in_the_entry_unit(unit, rial, fa, en):
    assert Texts("fa", unit=unit).money(rial) == fa
    assert Texts("en", unit=unit).money(rial) == en


@given(
    rial=st.one_of(st.just(0), st.integers(min_value=0, max_value=10**17)),
    unit=st.sampled_from(["rial", "toman"]),
    language=st.sampled_from(["fa", "en"]),
)
def test_what_is_shown_reads_back_as_the_same_rial(rial, unit, language):
    texts = Texts(language, unit=unit)

    assert parse_amount(texts.money_figure(rial), unit) == rial


@pytest.mark.parametrize(
    ("typed", "unit", "stored"),
    [
        ("250000", "toman", 2_500_000),
        ("250000", "rial", 250_000),
        ("۲۵۰۰۰۰", "toman", 2_500_000),
        ("2500000000", "toman", 25_000_000_000),
        ("25000000000", "rial", 25_000_000_000),
    ],
)
def test_a_toman_amount_is_never_stored_as_rial(typed, unit, stored):
    assert parse_amount(typed, unit) == stored
    other: Unit = "rial" if unit == "toman" else "toman"
    assert parse_amount(typed, other) != stored


def test_dates_are_jalali_in_persian_and_gregorian_in_english():
    day = date(2026, 11, 23)

    assert Texts("fa").date(day) == "۲ آذر ۱۴۰۵"
    assert Texts("fa", persian_digits=False).date(day) == "2 آذر 1405"
    assert Texts("en").date(day) == "November 23, 2026"


def test_the_first_day_of_the_jalali_year():
    assert Texts("fa").date(date(2026, 3, 21)) == "۱ فروردین ۱۴۰۵"


def test_parameters_are_localised():
    assert Texts("fa").tr("member.expiring", points=1200, date=date(2026, 11, 23)) == (
        "۱٬۲۰۰ امتیاز در ۲ آذر ۱۴۰۵ منقضی می‌شود"
    )
    assert Texts("en").tr("member.expiring", points=1200, date=date(2026, 11, 23)) == (
        "1,200 points expire on November 23, 2026"
    )
    assert Texts("en").number(Decimal("1234.5")) == "1,234.5"
