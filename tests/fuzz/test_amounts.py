"""Amounts as people type them, and in a unit: whole rial or refused, and at the service."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidAmount
from kiosk.text.money import UNITS, parse_amount, rial_from_unit
from tests.fuzz.database import Template, assert_nothing_written, fingerprint, fresh_kiosk
from tests.fuzz.defects import FUZZ, attempt, tried
from tests.fuzz.typed_text import LONG, typed

AMOUNT_TEXTS = st.one_of(
    typed(
        st.sampled_from([",", "٬", "،", "'", ".", "٫", "-", "−", "e", "E", "٬۰۰۰"]),
        st.integers(-(10**25), 10**25).map(lambda n: f"{n:,}"),
    ),
    st.integers(0, 10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=25),
    LONG,
)
AMOUNT_OBJECTS: st.SearchStrategy[Any] = st.one_of(
    st.integers(-(10**20), 10**20),
    st.integers(1, 10**10),
    st.floats(),
    st.decimals(),
    st.fractions(),
    st.booleans(),
    st.none(),
    st.text(max_size=10),
)


@FUZZ
@given(text=AMOUNT_TEXTS, unit=st.sampled_from(UNITS))
def test_typed_amounts_are_whole_rial_or_refused(text: str, unit: Any) -> None:
    tried("amount.parse")
    out = attempt(lambda: parse_amount(text, unit), (InvalidAmount,))
    if out.kind == "ok":
        assert type(out.value) is int and 0 <= out.value < 10**18


@FUZZ
@given(
    value=st.one_of(
        st.integers(),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.builds(
            lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
            st.integers(0, 10**30),
            st.integers(-(10**9), 10**9),
        ),
    ),
    unit=st.sampled_from(UNITS),
)
def test_amounts_in_a_unit_are_whole_rial_or_refused(value: int | Decimal, unit: Any) -> None:
    tried("amount.from_unit")
    out = attempt(lambda: rial_from_unit(value, unit), (InvalidAmount,))
    if out.kind == "ok":
        assert type(out.value) is int and abs(out.value) < 10**18


@FUZZ
@given(
    text=st.one_of(st.none(), AMOUNT_TEXTS),
    raw=AMOUNT_OBJECTS,
    unit=st.sampled_from(UNITS),
    action=st.sampled_from(["quote", "earn"]),
)
def test_amounts_at_the_service(
    template: Template, tmp_path: Path, text: str | None, raw: Any, unit: Any, action: str
) -> None:
    tried(f"amount.{action}")
    with fresh_kiosk(template, tmp_path) as kiosk:
        before = fingerprint(kiosk.db)
        amount = raw
        if text is not None:
            parsed = attempt(lambda: parse_amount(text, unit), (InvalidAmount,))
            if parsed.kind != "ok":
                return
            amount = parsed.value
        if action == "quote":
            out = attempt(lambda: kiosk.service.quote(template.member_id, amount))
            assert_nothing_written(kiosk, before, "a quote")
            if out.kind == "ok":
                assert out.value.points >= 0
            return
        out = attempt(
            lambda: kiosk.service.earn(
                template.member_id, amount, cashier=CLI, client_txn_id="fuzz"
            )
        )
        if out.kind == "ok":
            assert type(amount) is int and amount > 0
            assert out.value.amount == amount and out.value.points >= 0
        else:
            assert_nothing_written(kiosk, before, "a refused purchase")
