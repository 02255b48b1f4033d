"""Phone numbers as people type them: normalised or refused, and at the service."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidPhone
from kiosk.text.phone import normalize_phone
from tests.fuzz.database import Template, assert_nothing_written, fingerprint, fresh_kiosk
from tests.fuzz.defects import FUZZ, attempt, tried
from tests.fuzz.typed_text import LONG, PHONE_TEXTS


@FUZZ
@given(text=PHONE_TEXTS, region=st.sampled_from(["IR", "ir", "GB", "US", "AE", "DE"]))
def test_phone_numbers_are_normalised_or_refused(text: str, region: str) -> None:
    tried("phone.normalize")
    out = attempt(lambda: normalize_phone(text, region), (InvalidPhone,))
    if out.kind == "ok":
        assert re.fullmatch(r"\+[1-9][0-9]{6,17}", out.value), out.value
        assert normalize_phone(out.value, region) == out.value


@FUZZ
@given(
    text=PHONE_TEXTS,
    action=st.sampled_from(["identify", "enroll"]),
    name=st.one_of(st.none(), st.text(max_size=30), LONG),
)
def test_phone_numbers_at_the_service(
    template: Template, tmp_path: Path, text: str, action: str, name: str | None
) -> None:
    tried(f"phone.{action}")
    with fresh_kiosk(template, tmp_path) as kiosk:
        before = fingerprint(kiosk.db)
        if action == "identify":
            out = attempt(lambda: kiosk.service.identify_phone(text))
            assert_nothing_written(kiosk, before, "identifying by phone")
            if out.kind == "ok":
                assert out.value.member_id in (template.member_id, template.other_member_id)
            return
        out = attempt(
            lambda: kiosk.service.enroll(text, client_txn_id="fuzz", actor=CLI, name=name)
        )
        if out.kind == "ok":
            assert kiosk.service.identify_phone(text).member_id == out.value.member_id
        else:
            assert_nothing_written(kiosk, before, "a refused enrollment")
