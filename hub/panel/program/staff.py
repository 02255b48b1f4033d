"""The staff page: cashiers and managers by branch, and where each branch's technicians are
kept (its kiosks: a technician is made at the kiosk, never by the hub); adding, PIN
resets, cards, disabling.

Changes are the owner's (signed with the owner's key for every kiosk); a branch's manager
sees their own branch's staff, and support none (names are personal data). PINs are typed
into password fields, sent once and never shown, logged or audited; the audit says who
changed whom and what kind of change it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from hub import audit
from hub.devices import management
from hub.panel.access import PanelRequest, Role, forbidden, panel_page
from hub.panel.program.texts import T
from hub.program import staff
from hub.program.wording import Problem, Text


@panel_page(Role.OWNER, Role.MANAGER, personal=True)
def index(request: PanelRequest) -> HttpResponse:
    """GET: the staff one may see; POST (the owner's): add a staff member."""
    said: Text | None = None
    problem: Text | None = None
    status = 200
    if request.method == "POST":
        if request.access.role is not Role.OWNER:
            return forbidden(request)
        try:
            row = staff.put(
                staff_id=request.POST.get("staff_id", ""),
                name=request.POST.get("name", ""),
                role=request.POST.get("role", ""),
                branch_id=_branch(request.POST.get("branch")),
                cards=request.POST.get("cards", "").replace("،", ",").split(","),
                disabled=False,
                pin=request.POST.get("pin") or None,
                allowed=request.access.branch_ids,
                by=request.user.get_username(),
            )
        except Problem as refused:
            problem, status = refused.said, 400
        else:
            audit.record(
                request, "staff.put", row.staff_id, {"role": row.role}, branch_id=row.branch_id
            )
            said = T["saved"]
    return TemplateResponse(
        request,
        "panel/program/staff.html",
        _context(request, said, problem, request.POST if problem else None),
        status=status,
    )


@panel_page(Role.OWNER, Role.MANAGER, personal=True)
def person(request: PanelRequest, staff_id: str) -> HttpResponse:
    """GET: one staff member; POST (the owner's) `action=pin|disable|enable|save`."""
    allowed = request.access.branch_ids
    try:
        row = staff.one(staff_id, allowed)
    except Problem as missing:
        return TemplateResponse(
            request, "panel/program/staff.html", _context(request, None, missing.said), status=404
        )
    said: Text | None = None
    problem: Text | None = None
    status = 200
    if request.method == "POST":
        if request.access.role is not Role.OWNER:
            return forbidden(request)
        action = request.POST.get("action", "")
        by = request.user.get_username()
        try:
            # Each action recorded by its whole name (tests/panel/test_audit_names.py).
            if action == "pin":
                recorded = "staff.pin"
                row = staff.reset_pin(staff_id, request.POST.get("pin", ""), allowed, by)
            elif action in ("disable", "enable"):
                recorded = "staff.disable" if action == "disable" else "staff.enable"
                row = staff.set_disabled(staff_id, action == "disable", allowed, by)
            elif action == "save":
                recorded = "staff.save"
                row = staff.put(
                    staff_id=staff_id,
                    name=request.POST.get("name", ""),
                    role=request.POST.get("role", ""),
                    branch_id=_branch(request.POST.get("branch")),
                    cards=request.POST.get("cards", "").replace("،", ",").split(","),
                    disabled=row.disabled,
                    pin=None,
                    allowed=allowed,
                    by=by,
                )
            else:
                raise Problem(Text("چیزی انتخاب نشده است.", "Nothing was chosen."))
        except Problem as refused:
            problem, status = refused.said, 400
        else:
            audit.record(request, recorded, staff_id, {"role": row.role}, branch_id=row.branch_id)
            return redirect("panel:program:person", staff_id=staff_id)
    return TemplateResponse(
        request,
        "panel/program/person.html",
        {
            "t": T,
            "person": row,
            "said": said,
            "problem": problem,
            "branches": management.branches(allowed),
            "roles": list(staff.ROLES.items()),
            "may_change": request.access.role is Role.OWNER,
        },
        status=status,
    )


# The staff page's own words (the program's pages share hub/panel/program/texts.py).
WORDS = {
    "cashiers": Text("صندوق‌دارها", "Cashiers"),
    "managers": Text("مدیران شعبه", "Managers"),
    "technicians": Text("تکنسین‌ها", "Technicians"),
    "at_kiosks": Text(
        "روی دستگاه‌های همین شعبه ساخته و نگه داشته می‌شوند، نه از اینجا",
        "made and kept at this branch's kiosks, never from here",
    ),
    "kiosks": Text("دستگاه‌های فعال", "kiosks in use"),
    "nobody": Text("کسی در این شعبه نیست.", "No one at this branch yet."),
}


@dataclass(frozen=True)
class BranchStaff:
    """One branch's people as the page groups them: cashiers and managers (the hub's) and
    how many kiosks keep its technicians (each kiosk its own, made there: a technician
    from the hub is refused by every kiosk, docs/sync-protocol.md "Roles")."""

    branch: management.BranchRow | None
    people: list[staff.StaffRow]

    @property
    def cashiers(self) -> int:
        """The branch's cashiers."""
        return sum(1 for p in self.people if p.role == "cashier")

    @property
    def managers(self) -> int:
        """The branch's managers."""
        return sum(1 for p in self.people if p.role == "manager")


def by_branch(
    people: list[staff.StaffRow], branches: list[management.BranchRow]
) -> list[BranchStaff]:
    """The people grouped by branch, every branch one may see (an empty one too); those
    of no branch one may see (published from the command line) last."""
    known = {b.id for b in branches}
    groups = [BranchStaff(b, [p for p in people if p.branch_id == b.id]) for b in branches]
    rest = [p for p in people if p.branch_id not in known]
    return groups + ([BranchStaff(None, rest)] if rest else [])


def _context(
    request: PanelRequest, said: Text | None, problem: Text | None, typed: Any = None
) -> dict[str, Any]:
    allowed = request.access.branch_ids
    branches = management.branches(allowed)
    return {
        "t": T,
        "w": WORDS,
        "said": said,
        "problem": problem,
        "groups": by_branch(staff.listing(allowed), branches),
        "branches": branches,
        "roles": list(staff.ROLES.items()),
        "may_change": request.access.role is Role.OWNER,
        "typed": {
            k: v for k, v in (typed or {}).items() if k not in ("pin", "csrfmiddlewaretoken")
        },
    }


def _branch(text: str | None) -> int:
    if not text or not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Problem(Text("شعبه را انتخاب کنید.", "Choose the branch."))
    return int(text)
