"""The hub's 404 and 500 answers: a page in the panel's language under /panel/, the
protocol's JSON everywhere else (a kiosk reads JSON)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.panel.middleware import PANEL_PREFIX
from hub.protocol import wire


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
