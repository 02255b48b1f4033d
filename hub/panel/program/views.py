"""The program page: the version in force, the edit form with its preview, publishing, and
the history of versions with what each changed. The owner's alone (access.panel_page).

Thin: hub/program/draft.py reads the form, preview.py computes the preview, versions.py
lists and publishes (signed with the owner's key, through the one publish path).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import translation

from hub import audit
from hub.errors import HubError
from hub.panel import audit_log
from hub.panel.access import PanelRequest, Role, panel_page
from hub.panel.program.sections import sections
from hub.panel.program.texts import T
from hub.program import versions
from hub.program.diff import ITEM_FIELDS, diff
from hub.program.draft import MAX_REWARDS, MAX_TIERS, NUMBERS, Draft, read_draft, values_of
from hub.program.preview import UNIT_NAMES, AmountProblem, parse_amount, preview
from hub.program.rules import REWARD_KINDS, VERIFICATION
from hub.program.wording import Text

DEFAULT_PREVIEW = {"toman": "1,250,000", "rial": "12,500,000"}

# The names of this part's actions on the audit page (program, devices and staff pages).
for _action, _name in {
    "program.publish": Text("انتشار نسخهٔ تازهٔ برنامه", "Published a program version"),
    "branch.add": Text("افزودن شعبه", "Added a branch"),
    "device.add": Text("افزودن دستگاه", "Added a device"),
    "device.code": Text("کد تازه برای دستگاه", "Gave a device a new code"),
    "device.revoke": Text("باطل کردن دستگاه", "Revoked a device"),
    "staff.put": Text("افزودن کارمند", "Added a staff member"),
    "staff.save": Text("ویرایش کارمند", "Changed a staff member"),
    "staff.pin": Text("رمز تازهٔ کارمند", "Reset a staff member's PIN"),
    "staff.disable": Text("غیرفعال کردن کارمند", "Disabled a staff member"),
    "staff.enable": Text("فعال کردن کارمند", "Enabled a staff member"),
}.items():
    audit_log.name_action(_action, _name)


@panel_page(Role.OWNER)
def index(request: PanelRequest) -> HttpResponse:
    """GET: the program in force in the form; POST `action=preview|publish`."""
    unit = settings.PANEL_MONEY_UNIT
    current = versions.current_data()
    said: Text | None = None
    if request.method == "POST":
        draft = read_draft(request.POST.dict(), unit, kept=current)
        amount_text = request.POST.get("amount", "")
        if draft.valid and request.POST.get("action") == "publish":
            assert draft.data is not None
            try:
                published = versions.publish_draft(draft.data, by=request.user.get_username())
            except HubError as exc:
                draft.errors[""] = Text(f"منتشر نشد: {exc}", f"Not published: {exc}")
            else:
                audit.record(
                    request,
                    "program.publish",
                    f"version {published.version}",
                    {"version": published.version, "changes": _changed_fields(current, draft)},
                )
                said = T["published_now"]
                current = versions.current_data()
                draft = Draft(values_of(current, unit, _calendar()), data=current)
    else:
        draft = Draft(values_of(current, unit, _calendar()), data=current)
        amount_text = DEFAULT_PREVIEW[unit]
    status = 400 if draft.errors else 200
    context = _context(draft, amount_text, unit, said) | _comparison(request)
    if request.method == "POST" and said is None and draft.valid:
        assert draft.data is not None  # what publishing it would change, named
        context["pending"] = diff(current, draft.data)
    return TemplateResponse(request, "panel/program/program.html", context, status=status)


def _calendar() -> str:
    """The calendar a reward's dates are shown in: Jalali on a Persian page."""
    return "jalali" if (translation.get_language() or "fa").startswith("fa") else "gregorian"


def _comparison(request: PanelRequest) -> dict[str, Any]:
    """Any two versions compared (`?from=N&to=M`), as the history compares neighbours."""
    older, newer = request.GET.get("from", ""), request.GET.get("to", "")
    if not older or not newer:
        return {}
    if not all(x.isascii() and x.isdigit() and len(x) < 12 for x in (older, newer)):
        return {"compare_error": T["no_version"]}
    try:
        changes = versions.compare(int(older), int(newer))
    except HubError:
        return {"compare_error": T["no_version"]}
    return {"compared": {"from": int(older), "to": int(newer), "changes": changes}}


def _changed_fields(current: dict[str, Any], draft: Draft) -> list[str]:
    assert draft.data is not None
    return sorted({f"{d.section}:{d.item or d.field}" for d in diff(current, draft.data)})


def _context(draft: Draft, amount_text: str, unit: str, said: Text | None) -> dict[str, Any]:
    shown = None
    amount_error = None
    try:
        amount = parse_amount(amount_text, unit)
    except AmountProblem as problem:
        amount_error = problem.said
    else:
        if draft.data is not None and draft.valid:
            shown = preview(draft.data, amount)
    values = draft.values
    errors = draft.errors
    tiers = _rows(
        values, errors, "tier", ("id", "name_fa", "name_en", "threshold", "multiplier"), MAX_TIERS
    )
    rewards = _rows(
        values,
        errors,
        "reward",
        ("id", "name_fa", "name_en", "cost", "kind", "value", "active_from", "active_until"),
        MAX_REWARDS,
    )
    return {
        "t": T,
        "said": said,
        "draft": draft,
        "errors": draft.errors,
        "form_error": draft.errors.get(""),
        "numbers": [
            {"name": n, "label": T[n], "value": values.get(n, ""), "error": draft.errors.get(n)}
            for n in NUMBERS
        ],
        "mode": values.get("mode", "points"),
        "verification": [
            {
                "name": f"verification-{n}",
                "label": T[f"verification_{n}"],
                "on": values.get(f"verification-{n}") == "on",
            }
            for n in VERIFICATION
        ],
        "tiers": tiers,
        "rewards": rewards,
        "kinds": [(k, T[k]) for k in REWARD_KINDS],
        "unit": UNIT_NAMES[unit],
        "amount_text": amount_text,
        "amount_error": amount_error,
        "preview": shown,
        "history": versions.history(),
        "item_fields": ITEM_FIELDS,
        # Shown in the page's numerals (۱٫۲۵ in Persian; read back either way); an id or
        # a name is shown as typed (an id's digits are part of it).
        "numeric_fields": ("threshold", "multiplier", "cost", "value"),
        # Issue 20's rules: offers, feedback, referrals, badges, the phone page, the size.
        "sections": sections(values, errors),
    }


def _rows(
    values: dict[str, str],
    errors: dict[str, Text],
    prefix: str,
    names: tuple[str, ...],
    most: int,
) -> list[dict[str, Any]]:
    """The form's rows: those typed (kept as typed), then one empty row to add one. The
    empty row comes back from a preview with its fields blank (a list, `kind`, always has
    a choice): it is not a row typed."""
    rows: list[dict[str, Any]] = []
    typed = [
        parts
        for k, v in values.items()
        if k.startswith(f"{prefix}-") and v.strip() and (parts := k.split("-"))[-1] != "kind"
    ]
    last = max((int(p[1]) for p in typed if len(p) >= 3 and p[1].isdigit()), default=-1)
    for i in range(min(last + 2, most)):
        rows.append(
            {
                "index": i,
                "removed": bool(values.get(f"{prefix}-{i}-remove")),
                "fields": [
                    {
                        "name": n,
                        "label": T[n],
                        "key": f"{prefix}-{i}-{n}",
                        "value": values.get(f"{prefix}-{i}-{n}", ""),
                        "error": errors.get(f"{prefix}-{i}-{n}"),
                    }
                    for n in names
                ],
            }
        )
    return rows
