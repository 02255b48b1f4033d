"""`request.access`: what each role sees, on real PostgreSQL (the panel hub's database, read
through Django in this process): a manager their branch's members and entries only, support
every branch but no personal data, an owner everything."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from hub.environment import database_settings
from tests.panel.conftest import BRANCH, OTHER_BRANCH, PanelHub

if TYPE_CHECKING:
    from hub.panel.access import Access

WHEN = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def orm(django_in_process: None, panel_hub: PanelHub) -> None:
    """Django's connection pointed at the panel hub's database."""
    from django.db import connections

    connection = connections["default"]
    connection.close()
    url = panel_hub.hub.postgres.url(panel_hub.hub.database)
    connection.settings_dict.update(database_settings(url, 0))


@pytest.fixture(scope="module")
def chain(orm: None) -> dict[str, Any]:
    """A member and an entry at each of the two branches."""
    from hub.devices.models import Branch, Device
    from hub.ledger.models import Entry
    from hub.members.models import BranchMember, Member

    made: dict[str, Any] = {}
    for name in (BRANCH, OTHER_BRANCH):
        branch = Branch.objects.get(name=name)
        device = Device.objects.create(branch=branch)
        member = Member.objects.create(
            member_id=f"m-{uuid.uuid4()}",
            status="active",
            created_at=WHEN,
            updated_at=WHEN,
            phone="+98912" + f"{next(_seq):07d}",
        )
        BranchMember.objects.create(branch=branch, member_id=member.member_id)
        entry = Entry.objects.create(
            device=device,
            entry_id=f"e-{uuid.uuid4()}",
            seq=next(_seq),
            status="stored",
            member=member,
            kind="earn",
            points=10,
            as_pushed="{}",
        )
        made[name] = (branch, member, entry)
    return made


def access_for(role: str, branch_name: str | None = None) -> Access:
    from django.contrib.auth.models import User

    from hub.devices.models import Branch
    from hub.panel.access import access_of
    from hub.panel.models import PanelUser

    user = User.objects.create(username=f"{role}-{uuid.uuid4()}")
    branch = Branch.objects.get(name=branch_name) if branch_name else None
    return access_of(PanelUser.objects.create(user=user, role=role, branch=branch))


def test_a_manager_sees_their_branchs_members_and_entries_only(chain):
    from hub.ledger.models import Entry
    from hub.members.models import Member

    access = access_for("manager", BRANCH)
    (valiasr, own, own_entry), (tajrish, other, other_entry) = chain[BRANCH], chain[OTHER_BRANCH]

    members = set(access.members(Member.objects.all()).values_list("member_id", flat=True))
    entries = set(access.entries(Entry.objects.all()).values_list("id", flat=True))

    assert own.member_id in members and other.member_id not in members
    assert own_entry.id in entries and other_entry.id not in entries
    assert access.sees_branch(valiasr.id) and not access.sees_branch(tajrish.id)
    assert access.sees_personal


@pytest.mark.parametrize(("role", "personal"), [("owner", True), ("support", False)])
def test_owners_and_support_see_every_branch_support_no_personal_data(chain, role, personal):
    from hub.members.models import Member

    access = access_for(role)
    everyone = {member.member_id for _, member, _ in chain.values()}

    members = set(access.members(Member.objects.all()).values_list("member_id", flat=True))

    assert everyone <= members
    assert access.branch_ids is None and access.sees_personal is personal


def test_the_database_refuses_a_manager_without_a_branch_and_support_with_one(orm):
    from django.contrib.auth.models import User
    from django.db import IntegrityError, transaction

    from hub.devices.models import Branch
    from hub.panel.models import PanelUser

    branch = Branch.objects.get(name=BRANCH)
    for role, at in (("manager", None), ("support", branch), ("owner", branch), ("cashier", None)):
        user = User.objects.create(username=f"odd-{uuid.uuid4()}")
        with pytest.raises(IntegrityError), transaction.atomic():
            PanelUser.objects.create(user=user, role=role, branch=at)


def test_the_audit_log_cannot_be_rewritten_or_deleted_but_survives_its_actor(orm):
    from django.contrib.auth.models import User
    from django.db import DatabaseError, transaction

    from hub.audit.models import AuditEvent

    user = User.objects.create(username=f"leaver-{uuid.uuid4()}")
    event = AuditEvent.objects.create(actor=user, actor_name=user.username, action="x.y")

    for attempt in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(action="nothing"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    user.delete()

    kept = AuditEvent.objects.get(pk=event.pk)
    assert kept.actor_id is None and kept.actor_name == user.username and kept.action == "x.y"
