"""The panel's program form edits most of a program; publishing from it keeps the rest
(the anniversary and birthday windows, bonuses it has no field for) as the program in
force has them, rather than dropping them."""

from __future__ import annotations

from typing import Any


def in_force() -> dict[str, Any]:
    from hub.program.rules import default_program

    data = {k: v for k, v in default_program().items() if k != "version"}
    data["feedback"] = {"enabled": True, "every_days": 30}
    data["phone_page"] = {"enabled": True, "url": "https://club.example"}
    data["offers"] = [
        {
            "id": "noon-double",
            "name_fa": "امتیاز دوبرابر ظهر",
            "name_en": "Double points at noon",
            "multiplier": "2",
            "bonus": 0,
            "starts": "",
            "ends": "",
            "weekdays": [],
            "from_time": "12:00",
            "until_time": "14:00",
            "branches": [],
            "tiers": [],
            "min_amount": 0,
        }
    ]
    return data


def test_an_edit_in_the_form_keeps_what_the_form_does_not_show():
    from hub.program.draft import read_draft, values_of
    from hub.program.rules import program_problem

    current = in_force()
    current["anniversary_bonus"] = 50  # the form has no field for it
    assert program_problem(current) is None
    values = values_of(current, "toman") | {"points": "3"}
    draft = read_draft(values, "toman", kept=current)
    assert draft.valid, draft.errors
    assert draft.data is not None
    assert draft.data["points"] == 3
    for kept in ("feedback", "phone_page", "offers", "anniversary_bonus"):
        assert draft.data[kept] == current[kept]


def test_a_form_without_the_program_in_force_makes_only_what_it_shows():
    from hub.program.draft import read_draft, values_of

    current = in_force()
    current["anniversary_bonus"] = 50  # a rule the form has no field for
    draft = read_draft(values_of(current, "toman"), "toman")
    assert draft.data is not None
    assert "anniversary_bonus" not in draft.data
    # The form edits these (hub/program/draft_sections.py): what it shows, it makes.
    for shown in ("feedback", "phone_page", "offers"):
        assert draft.data[shown] == current[shown]
