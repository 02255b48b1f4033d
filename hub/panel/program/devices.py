"""The branches and devices page: branches, each device's health, adding and revoking.

The owner adds branches; the owner, or a branch's manager for their own branch, adds a
device (its one-time code shown in that answer alone, never stored for the page again)
and revokes one, after a confirmation page. Support sees the health table only: it holds
no personal data. Every change is audited (never the code itself).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from hub import audit
from hub.devices import management
from hub.devices.enrollment import Issued
from hub.panel.access import PanelRequest, Role, panel_page
from hub.panel.program.texts import T
from hub.program.wording import Problem, Text


@panel_page(Role.OWNER, Role.MANAGER, Role.SUPPORT)
def index(request: PanelRequest) -> HttpResponse:
    """GET: branches and devices; POST `action=add_branch|add_device`."""
    allowed = request.access.branch_ids
    role = request.access.role
    issued: Issued | None = None
    said: Text | None = None
    problem: Text | None = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add_branch" and role is Role.OWNER:
                branch = management.add_branch(request.POST.get("name", ""))
                audit.record(request, "branch.add", branch.name, branch_id=branch.pk)
                said = T["branch_added"]
            elif action == "add_device" and role in (Role.OWNER, Role.MANAGER):
                issued = management.add_device(_number(request.POST.get("branch")), allowed)
                audit.record(
                    request,
                    "device.add",
                    f"device {issued.device.pk}",
                    {"device": issued.device.pk},
                    branch_id=issued.device.branch_id,
                )
            elif action == "new_code" and role in (Role.OWNER, Role.MANAGER):
                issued = management.new_code(_number(request.POST.get("device")), allowed)
                audit.record(
                    request,
                    "device.code",
                    f"device {issued.device.pk}",
                    {"device": issued.device.pk},
                    branch_id=issued.device.branch_id,
                )
            else:
                return _forbidden(request)
        except Problem as refused:
            problem, status = refused.said, 400
    return TemplateResponse(
        request,
        "panel/program/devices.html",
        _context(request, issued, said, problem),
        status=status,
    )


@panel_page(Role.OWNER, Role.MANAGER)
def revoke(request: PanelRequest, number: int) -> HttpResponse:
    """GET: the confirmation; POST: revoke for good."""
    allowed = request.access.branch_ids
    rows = [d for d in management.devices(allowed) if d.number == number]
    if not rows:
        return TemplateResponse(
            request,
            "panel/program/devices.html",
            _context(request, None, None, Text("چنین دستگاهی نیست.", "No such device.")),
            status=404,
        )
    if request.method == "POST":
        device, _ = management.revoke(number, allowed)
        audit.record(
            request,
            "device.revoke",
            f"device {number}",
            {"device": number},
            branch_id=device.branch_id,
        )
        return redirect("panel:program:devices")
    return TemplateResponse(request, "panel/program/revoke.html", {"t": T, "device": rows[0]})


def _context(
    request: PanelRequest, issued: Issued | None, said: Text | None, problem: Text | None
) -> dict[str, Any]:
    allowed = request.access.branch_ids
    role = request.access.role
    return {
        "t": T,
        "issued": issued,
        "said": said,
        "problem": problem,
        "branches": management.branches(allowed),
        "devices": management.devices(allowed),
        "may_add_branch": role is Role.OWNER,
        "may_change": role in (Role.OWNER, Role.MANAGER),
    }


def _number(text: str | None) -> int:
    if not text or not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Problem(Text("چیزی انتخاب نشده است.", "Nothing was chosen."))
    return int(text)


def _forbidden(request: PanelRequest) -> HttpResponse:
    from hub.panel.access import forbidden

    return forbidden(request)
