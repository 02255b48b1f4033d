"""Enrolling members, their cards, consent and erasure."""

from __future__ import annotations

import pytest

from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import (
    AlreadyEnrolled,
    CardBlocked,
    CardInUse,
    InvalidDate,
    InvalidInput,
    InvalidPhone,
    MemberErased,
    UnknownCard,
    UnknownMember,
)

PHONE = "09121234567"


def test_a_member_is_found_by_any_form_of_their_phone(service, txn):
    enrolled = service.enroll("۰۹۱۲ ۱۲۳ ۴۵۶۷", client_txn_id=txn())

    for form in ("+98 912 123 4567", "00989121234567", "9121234567"):
        assert service.identify_phone(form).member_id == enrolled.member_id


def test_a_phone_number_enrolls_once(service, txn):
    service.enroll(PHONE, client_txn_id=txn())

    with pytest.raises(AlreadyEnrolled):
        service.enroll("+989121234567", client_txn_id=txn())


def test_a_landline_is_refused_with_its_reason_and_nothing_written(service, txn):
    with pytest.raises(InvalidPhone) as caught:
        service.enroll("021 8877 6655", client_txn_id=txn())

    assert caught.value.reason == "not_mobile"
    assert service.conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 0


def test_enrolling_with_a_card_links_it(service, txn):
    result = service.enroll(PHONE, client_txn_id=txn(), card="04:a2:3b:4c")

    assert service.identify_card("04A23B4C").member_id == result.member_id


def test_a_card_belongs_to_one_member_and_a_member_may_have_many(service, txn):
    a = service.enroll(PHONE, client_txn_id=txn(), card="A1B2C3D4").member_id
    b = service.enroll("09351234567", client_txn_id=txn()).member_id
    service.link_card(a, "11223344", actor=CLI)

    with pytest.raises(CardInUse):
        service.link_card(b, "a1b2c3d4", actor=CLI)
    assert service.identify_card("11223344").member_id == a


def test_a_blocked_card_is_refused_but_the_points_stay(service, txn):
    member_id = service.enroll(PHONE, client_txn_id=txn(), card="A1B2C3D4").member_id

    service.block_card("A1B2C3D4", actor=CLI)

    with pytest.raises(CardBlocked):
        service.identify_card("A1B2C3D4")
    assert service.identify_phone(PHONE).balance == 50
    assert service.identify_phone(PHONE).member_id == member_id


def test_an_unknown_card_is_told_apart_from_a_staff_card(service, txn, manager):
    service.link_staff_card(manager.actor_id, "5566778899", actor=CLI)

    with pytest.raises(UnknownCard):
        service.identify_card("DEADBEEF")
    with pytest.raises(UnknownMember):
        service.identify_card("5566778899")


def test_consent_is_recorded_with_the_version_of_the_text(service, txn, clock):
    member_id = service.enroll(
        PHONE, client_txn_id=txn(), consent_marketing=True, consent_version="fa-2026-1"
    ).member_id
    clock.advance(days=3)

    service.set_consent(member_id, marketing=False, version="fa-2026-1")

    log = service.conn.execute(
        "SELECT marketing, version, at FROM consent_log WHERE member_id = ? ORDER BY id",
        (member_id,),
    ).fetchall()
    assert [tuple(row) for row in log] == [
        (1, "fa-2026-1", "2026-03-01T09:00:00.000000Z"),
        (0, "fa-2026-1", "2026-03-04T09:00:00.000000Z"),
    ]
    assert service.member(member_id).person.consent_marketing is False


def test_consent_without_its_version_is_refused(service, txn):
    with pytest.raises(InvalidInput):
        service.enroll(PHONE, client_txn_id=txn(), consent_marketing=True)


def test_a_birthday_in_the_future_is_refused(service, txn):
    from datetime import date

    with pytest.raises(InvalidDate):
        service.enroll(PHONE, client_txn_id=txn(), birthday=date(2030, 1, 1))


def test_erasure_removes_the_person_and_keeps_the_anonymous_ledger(service, txn, cashier):
    member_id = service.enroll(PHONE, client_txn_id=txn(), name="Sara", card="A1B2C3D4").member_id
    service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id=txn())

    service.erase(member_id, actor=CLI)

    assert service.conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0
    assert service.conn.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 0
    assert (
        service.conn.execute(
            "SELECT COUNT(*) FROM entries WHERE member_id = ?", (member_id,)
        ).fetchone()[0]
        == 2
    )
    assert service.member(member_id).person is None
    with pytest.raises(UnknownMember):
        service.identify_phone(PHONE)
    with pytest.raises(MemberErased):
        service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id=txn())
    assert verify_ledger(service.conn).ok
    # The person may come back as a new member.
    assert service.enroll(PHONE, client_txn_id=txn()).member_id != member_id


def test_names_are_tidied_and_junk_refused(service, txn):
    member_id = service.enroll(PHONE, client_txn_id=txn(), name="  Sara   Ahmadi ").member_id

    assert service.member(member_id).person.name == "Sara Ahmadi"
    with pytest.raises(InvalidInput):
        service.enroll("09351234567", client_txn_id=txn(), name="x\x00y")


def test_sql_in_a_name_is_stored_literally(service, txn):
    name = "Robert'); DROP TABLE members;--"

    member_id = service.enroll(PHONE, client_txn_id=txn(), name=name).member_id

    assert service.member(member_id).person.name == name
