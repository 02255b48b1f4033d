"""The panel's messages pages: the SMS log, the templates, campaigns, the balance, webhooks.

Thin: hub/messaging/ and hub/integration/ queue, check and count; these pages decide who
may ask and audit every change and every phone number shown.

| page | who |
|---|---|
| the message log, phones masked | all: a manager, their branch's members'; support, no digit |
| show one message's phone | the owner (audited) |
| the templates | every role reads them; the owner edits (audited) |
| campaigns: preview, send, the list (campaigns.py) | the owner (a send audited) |
| the balance and the spend (accounts.py) | the owner and support (figures, no person) |
| webhooks (accounts.py): endpoints, deliveries, on and off | the owner (audited), no secret |
| the settings (policy.py): quiet hours, caps, budget | all read; the owner changes (audited) |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub import audit
from hub.errors import HubError
from hub.members.models import BranchMember
from hub.messaging import limits, parts, texts
from hub.messaging.models import Message, Template
from hub.panel.access import PanelRequest, Role, panel_page
from hub.panel.audit_log import DayField, name_action

PER_PAGE = 50

name_action("message.show_phone", _("Showed a message's phone number"))
name_action("message.template", _("Changed a message's wording"))

# The states as the log shows them: `held` is a queued message whose time has not come
# (quiet hours, a campaign's chosen time, the day's budget spent).
STATE_NAMES = {
    "queued": _("queued"),
    "held": _("held"),
    "sending": _("sending"),
    "sent": _("sent"),
    "delivered": _("delivered"),
    "failed": _("failed"),
    "expired": _("expired"),
    "cancelled": _("cancelled"),
}
KIND_NAMES = {
    "receipt": _("receipt"),
    "redeem": _("reward redeemed"),
    "verification": _("verification code"),
    "birthday": _("birthday"),
    "winback": _("win-back"),
    "campaign": _("campaign"),
}
# Why a message was not sent or delivered, as the outbox words it (hub/messaging/), by the
# start of its text; a reason not here (a gateway's own words) shows as stored.
REASONS = (
    ("opted out", _("the member opted out")),
    ("no consent", _("no consent to marketing")),
    ("consent withdrawn", _("no consent to marketing")),
    ("frequency cap", _("the weekly cap was reached")),
    ("undelivered", _("the operator could not deliver it")),
    ("its deadline passed", _("its time passed before it could be sent")),
    ("not sent before its deadline", _("its time passed before it could be sent")),
    ("no delivery report", _("no delivery report in time")),
    ("the member was erased", _("the member was erased")),
    ("the entry was voided", _("the purchase was voided")),
    ("receipts turned off", _("the member turned receipts off")),
    ("outcome unknown", _("unknown whether it was sent (not sent again)")),
    ("not an active member", _("not an active member with this phone")),
    ("marketing goes to members only", _("not a member")),
)


def reason_words(error: str) -> tuple[str, bool]:
    """An outbox's reason in the page's language, and whether it was known (else as is)."""
    for start, words in REASONS:
        if error.startswith(start):
            return str(words), True
    return error, False


# What a template's preview fills its placeholders with, by language.
SAMPLES = {
    "fa": {
        "name": "سارا",
        "points": "۱۲۰",
        "balance": "۱۴۵۰",
        "reward": "قهوهٔ رایگان",
        "code": "۴۸۲۹۱۷",
        "minutes": "۵",
        "until": "۱۴۰۵/۰۹/۳۰",
        "days": "۴۵",
        "text": "این هفته ۲۰٪ تخفیف روی همهٔ نوشیدنی‌ها",
    },
    "en": {
        "name": "Sara",
        "points": "120",
        "balance": "1450",
        "reward": "a free coffee",
        "code": "482917",
        "minutes": "5",
        "until": "2026-12-21",
        "days": "45",
        "text": "20% off every drink this week",
    },
}
SAMPLE_STOP = "https://club.example/s/Ab3dE9"


def _tabs(request: PanelRequest) -> list[dict[str, Any]]:
    """The messages part's pages this role may open, for the tabs at the top."""
    role = request.access.role
    tabs = [("log", _("Message log"), True), ("templates", _("Templates"), True)]
    tabs += [("campaigns", _("Campaigns"), role is Role.OWNER)]
    tabs += [("balance", _("Balance and spend"), role in (Role.OWNER, Role.SUPPORT))]
    tabs += [("webhooks", _("Webhooks"), role is Role.OWNER)]
    tabs += [("settings", _("Settings"), True)]
    return [
        {"url": reverse(f"panel:messages:{name}"), "label": label, "here": name == _here(request)}
        for name, label, shown in tabs
        if shown
    ]


def _here(request: PanelRequest) -> str:
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match is not None else ""
    shown_under = {
        "reveal": "log",
        "campaign_preview": "campaigns",
        "campaign_send": "campaigns",
        "webhook_active": "webhooks",
    }
    return shown_under.get(name or "", name or "")


def _render(
    request: PanelRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"tabs": _tabs(request)} | context
    return TemplateResponse(request, f"panel/messages/{template}", context, status=status)


# -- the message log -------------------------------------------------------------------------


class LogFilter(forms.Form):
    """The log's filters (a GET form: a filtered page can be bookmarked)."""

    kind = forms.ChoiceField(required=False, choices=[("", ""), *KIND_NAMES.items()])
    state = forms.ChoiceField(required=False, choices=[("", ""), *STATE_NAMES.items()])
    since = DayField(label=_("From"), required=False)
    until = DayField(label=_("To"), required=False)


def visible_messages(request: PanelRequest) -> QuerySet[Message]:
    """The messages this user may see: a manager's are those of their branch's members."""
    found = Message.objects.all()
    branches = request.access.branch_ids
    if branches is not None:
        used = BranchMember.objects.filter(branch_id__in=branches).values("member_id")
        found = found.filter(member_id__in=used)
    return found


def _filtered(found: QuerySet[Message], form: LogFilter, now: datetime) -> QuerySet[Message]:
    if not form.is_valid():
        return found.none()
    data = form.cleaned_data
    if data["kind"]:
        found = found.filter(kind=data["kind"])
    state = data["state"]
    if state == "held":
        found = found.filter(state="queued", not_before__gt=now)
    elif state == "queued":
        found = found.filter(state="queued", not_before__lte=now)
    elif state:
        found = found.filter(state=state)
    zone = timezone.get_current_timezone()
    if data["since"]:
        found = found.filter(created_at__gte=datetime.combine(data["since"], time.min, zone))
    if data["until"]:
        end = datetime.combine(data["until"] + timedelta(days=1), time.min, zone)
        found = found.filter(created_at__lt=end)
    return found


@dataclass(frozen=True)
class LogRow:
    """A message as the log shows it: the phone masked unless the owner opened it."""

    id: int
    kind: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    parts: int
    cost: int
    member_id: str | None
    phone: str  # masked, or whole when shown
    shown: bool
    error: str
    error_known: bool


def _mask(phone: str, access_role: Role) -> str:
    if access_role is Role.SUPPORT:
        return "••••"  # support never sees a digit of a phone
    if len(phone) <= 6:
        return "*" * len(phone)
    return f"{phone[: max(len(phone) - 7, 1)]}***{phone[-4:]}"


def _log_page(request: PanelRequest, shown_id: int | None = None) -> HttpResponse:
    now = timezone.now()
    form = LogFilter(request.GET)
    found = _filtered(visible_messages(request), form, now).order_by("-id")
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    role = request.access.role
    rows = [
        LogRow(
            id=m.pk,
            kind=str(KIND_NAMES.get(m.kind, m.kind)),
            state=str(
                STATE_NAMES["held"]
                if m.state == "queued" and m.not_before > now
                else STATE_NAMES.get(m.state, m.state)
            ),
            created_at=m.created_at,
            sent_at=m.sent_at,
            parts=m.parts,
            cost=m.cost,
            member_id=m.member_id,
            phone=m.phone if m.pk == shown_id else _mask(m.phone, role),
            shown=m.pk == shown_id,
            error=reason_words(m.error)[0] if role is not Role.SUPPORT else "",
            error_known=reason_words(m.error)[1],
        )
        for m in page
    ]
    kept = request.GET.copy()
    kept.pop("page", None)
    return _render(
        request,
        "log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": kept.urlencode(),
            "kinds": list(KIND_NAMES.items()),
            "states": list(STATE_NAMES.items()),
            "may_show": role is Role.OWNER,
        },
    )


@never_cache
@panel_page()
def log(request: PanelRequest) -> HttpResponse:
    """Every message this user may see, newest first, 50 a page, phones masked."""
    return _log_page(request)


@never_cache
@require_POST
@panel_page(Role.OWNER, personal=True)
def reveal(request: PanelRequest, message_id: int) -> HttpResponse:
    """The log with one message's phone shown (a deliberate press, audited)."""
    message = visible_messages(request).filter(pk=message_id).first()
    if message is None:
        raise Http404(str(_("No such message.")))
    audit.record(request, "message.show_phone", str(message_id), {"member": message.member_id})
    return _log_page(request, shown_id=message_id)


# -- the templates ---------------------------------------------------------------------------


def template_problem(kind: str, body: str) -> str:
    """Why `body` may not be `kind`'s wording, in the page's language ("" if it may)."""
    if not body.strip():
        return str(_("Write a text."))
    try:
        used = texts.fields(body)
    except HubError:
        return str(_("A brace is not closed: write placeholders as {name}."))
    allowed = texts.PLACEHOLDERS[kind]
    unknown = used - allowed
    if unknown:
        return str(
            _("Unknown placeholders: %(unknown)s. This message may use: %(allowed)s.")
            % {
                "unknown": ", ".join("{" + u + "}" for u in sorted(unknown)),
                "allowed": ", ".join("{" + a + "}" for a in sorted(allowed)),
            }
        )
    if kind in texts.MARKETING and "stop" not in used:
        return str(_("A marketing message must carry the opt-out link, {stop}."))
    return ""


@dataclass
class Wording:
    """One kind of message in one language, as the templates page shows it."""

    kind: str
    kind_name: str
    language: str
    body: str
    own: bool  # the chain's own (else the shipped default)
    placeholders: list[str]
    preview: str = ""
    parts: int = 0
    encoding: str = ""
    cost: int = 0
    problem: str = ""
    saved: bool = False


def _preview(wording: Wording) -> None:
    rules = limits.policy()
    values: dict[str, object] = dict(SAMPLES[wording.language])
    values |= {"shop": rules.shop_name or ("فروشگاه" if wording.language == "fa" else "Shop")}
    values["stop"] = SAMPLE_STOP
    try:
        wording.preview = texts.render(wording.body, values)
    except (HubError, KeyError, ValueError, IndexError):
        return
    size = parts.measure(wording.preview)
    wording.parts, wording.encoding = size.parts, size.encoding
    wording.cost = parts.cost(size, price_ucs2=rules.price_ucs2, price_gsm=rules.price_gsm)


def _wordings(edited: Wording | None = None) -> list[Wording]:
    own = {(t.kind, t.language): t.body for t in Template.objects.all()}
    shown = []
    for kind, allowed in texts.PLACEHOLDERS.items():
        for language in ("fa", "en"):
            if edited is not None and (edited.kind, edited.language) == (kind, language):
                shown.append(edited)
                continue
            wording = Wording(
                kind=kind,
                kind_name=str(KIND_NAMES.get(kind, kind)),
                language=language,
                body=own.get((kind, language), texts.DEFAULTS[(kind, language)]),
                own=(kind, language) in own,
                placeholders=sorted(allowed),
            )
            _preview(wording)
            shown.append(wording)
    return shown


@never_cache
@panel_page()
def templates(request: PanelRequest) -> HttpResponse:
    """Each kind's wording in Persian and English, its placeholders, a sample and its cost;
    the owner edits (Preview shows a draft without saving it; Save checks and saves)."""
    edited: Wording | None = None
    status = 200
    if request.method == "POST":
        if request.access.role is not Role.OWNER:
            from hub.panel.access import forbidden

            return forbidden(request)
        kind = request.POST.get("kind", "")
        language = request.POST.get("language", "")
        if kind not in texts.PLACEHOLDERS or language not in ("fa", "en"):
            raise Http404(str(_("No such message kind.")))
        body = request.POST.get("body", "").replace("\r\n", "\n")[:2000]
        edited = Wording(
            kind=kind,
            kind_name=str(KIND_NAMES.get(kind, kind)),
            language=language,
            body=body,
            own=True,
            placeholders=sorted(texts.PLACEHOLDERS[kind]),
        )
        edited.problem = template_problem(kind, body)
        if edited.problem:
            status = 400
        else:
            _preview(edited)
            if request.POST.get("action") == "save":
                try:
                    texts.save(kind, language, body.strip())
                except HubError:
                    edited.problem = str(_("The text was not saved: check its placeholders."))
                    status = 400
                else:
                    edited.saved = True
                    audit.record(
                        request,
                        "message.template",
                        f"{kind}/{language}",
                        {"parts": edited.parts},
                    )
    return _render(
        request,
        "templates.html",
        {
            "wordings": _wordings(edited),
            "may_edit": request.access.role is Role.OWNER,
            "edited": edited,
        },
        status=status,
    )


# -- a time of day as typed (a campaign's, the quiet hours') -------------------------------


class TimeField(forms.Field):
    """A time of day, `14:30`, in Persian or ASCII digits."""

    def to_python(self, value: object) -> time | None:
        text = str(value or "").strip()[:10]
        if not text:
            return None
        text = text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789"))
        try:
            return time.fromisoformat(text.replace("٫", ":").replace(".", ":"))
        except ValueError:
            raise forms.ValidationError(_("Write a time as 14:30.")) from None
