"""The hub's 404, 500 and CSRF-failure answers: a page in the panel's language under
/panel/ (the phone page's own under /club/), the protocol's JSON everywhere else (a kiosk
reads JSON)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.panel.middleware import PANEL_PREFIX
from hub.program.wording import Text
from hub.protocol import wire

EXPIRED = Text(
    "این فرم کهنه شده بود (زیاد باز مانده بود، یا جای دیگری وارد شدید) و چیزی ذخیره نشد. "
    "برگردید، صفحه را دوباره باز کنید و دوباره بفرستید.",
    "This form was out of date (open too long, or you signed in somewhere else) and "
    "nothing was saved. Go back, reload the page and send it again.",
)
EXPIRED_TITLE = Text("فرم کهنه شده", "Form out of date")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's handler404."""
    if request.path.startswith(PANEL_PREFIX):
        return TemplateResponse(request, "panel/not_found.html", status=404).render()
    return wire.not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500 (a plain page: the template engine may be what failed)."""
    if request.path.startswith(PANEL_PREFIX):
        return HttpResponse(
            "<!doctype html><title>503</title><p>The hub had a problem; try again later.</p>"
            '<p dir="rtl" lang="fa">هاب به مشکلی خورد؛ کمی بعد دوباره امتحان کنید.</p>',
            status=503,
        )
    return wire.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF_FAILURE_VIEW: a form refused (nothing was done) told in the page's
    language and look, with what to do; Django's own page is English and unstyled."""
    if request.path.startswith("/club/"):
        from hub.club.views import expired  # the phone page's, in the member's language

        return expired(request)
    if request.path.startswith(PANEL_PREFIX):
        context = {"title": EXPIRED_TITLE, "message": EXPIRED}
        return TemplateResponse(request, "panel/expired.html", context, status=403).render()
    return wire.error(403, "csrf_failed", "The request was refused by the CSRF check.")
