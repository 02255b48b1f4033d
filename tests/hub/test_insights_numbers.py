"""The reports' counts are grouped by thousands as the page's language writes them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.hub.test_insights import Chain, chain

__all__ = ["chain"]  # a fixture, used by name


@pytest.mark.parametrize(("language", "shown"), [("fa", "۱۲٬۵۰۰"), ("en", "12,500")])
def test_a_reports_bar_counts_in_the_pages_digits_grouped(chain: Chain, language: str, shown: str):
    from django.template.loader import render_to_string
    from django.utils import translation

    chart = [SimpleNamespace(label="North", value=12500, percent=100, rest=0)]
    with translation.override(language):
        html = render_to_string(
            "panel/insights/_bars.html", {"chart": chart, "caption": "x", "as_money": False}
        )
    assert shown in html
