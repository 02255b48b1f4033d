"""The program form's sections for issue 20's rules (hub/program/draft_sections.py,
draft_offers.py): each wrong field said beside it in both languages, a right form read
into the program the hub publishes, and the hub's own check of what the form lets by."""

from __future__ import annotations

from typing import Any

import pytest

from hub.program.rules import default_program, program_problem


@pytest.mark.parametrize(
    ("given", "accepted"),
    [(True, True), (False, True), ("yes", False), (1, False), (None, False)],
)
def test_a_program_may_say_whether_kiosks_show_the_club_size(given: Any, accepted: bool):
    data = default_program() | {"show_member_count": given}
    assert (program_problem(data) is None) is accepted
