"""The staff page: cashiers and managers by branch; adding, PIN resets, cards, disabling.

Changes are the owner's (signed with the owner's key for every kiosk); a branch's manager
sees their own branch's staff, and support none (names are personal data). PINs are typed
into password fields, sent once and never shown, logged or audited; the audit says who
changed whom and what kind of change it was.
"""

from __future__ import annotations

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


def _context(
    request: PanelRequest, said: Text | None, problem: Text | None, typed: Any = None
) -> dict[str, Any]:
    allowed = request.access.branch_ids
    return {
        "t": T,
        "said": said,
        "problem": problem,
        "people": staff.listing(allowed),
        "branches": management.branches(allowed),
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
