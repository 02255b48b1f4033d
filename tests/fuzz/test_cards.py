"""Card ids as readers and people give them: normalised or refused, and at the service."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.cards import normalize_uid
from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidCardUid
from tests.fuzz.database import (
    BLOCKED_CARD,
    CARD,
    Template,
    assert_nothing_written,
    fingerprint,
    fresh_kiosk,
)
from tests.fuzz.defects import FUZZ, attempt, tried
from tests.fuzz.typed_text import HEX, LONG, typed

CARD_TEXTS = st.one_of(
    st.text(alphabet=HEX, min_size=0, max_size=40),
    typed(
        st.text(alphabet=HEX, min_size=1, max_size=10),
        st.sampled_from(["0x", "0X", ":", "-", "ﬀ", "Ａ", "ı", "ß", "ｆ", "\u0130", "K", "x"]),
    ),
    st.lists(st.binary(min_size=1, max_size=1).map(bytes.hex), min_size=1, max_size=20).map(
        ":".join
    ),
    st.text(max_size=40),
    LONG,
)


@FUZZ
@given(text=CARD_TEXTS)
def test_card_ids_are_normalised_or_refused(text: str) -> None:
    tried("card.normalize")
    out = attempt(lambda: normalize_uid(text), (InvalidCardUid,))
    if out.kind == "ok":
        assert re.fullmatch(r"[0-9A-F]{4,32}", out.value), out.value
        assert normalize_uid(out.value) == out.value


@FUZZ
@given(text=st.one_of(CARD_TEXTS, st.sampled_from([CARD, "a1:b2:c3:d4", BLOCKED_CARD])))
def test_card_ids_at_the_service(template: Template, tmp_path: Path, text: str) -> None:
    with fresh_kiosk(template, tmp_path) as kiosk:
        tried("card.identify")
        before = fingerprint(kiosk.db)
        attempt(lambda: kiosk.service.identify_card(text))
        assert_nothing_written(kiosk, before, "identifying by card")
        tried("card.link")
        out = attempt(lambda: kiosk.service.link_card(template.other_member_id, text, actor=CLI))
        if out.kind == "ok":
            assert kiosk.service.members.card(normalize_uid(text)) is not None
        else:
            assert_nothing_written(kiosk, before, "a refused card link")
