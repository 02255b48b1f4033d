"""What makes a badges setting valid (docs/program.md, "Streaks and badges"): the config's
`[program.badges]` and a pulled program's `badges` (kiosk/core/badges.py) alike."""

from __future__ import annotations

from kiosk.config.schema import BadgesConfig

WEEKS = ("jalali", "iso")


def badge_problems(rules: BadgesConfig) -> list[tuple[str, str]]:
    """What is wrong with a badges setting, as (key, problem) pairs."""
    problems = []
    if rules.week not in WEEKS:
        problems.append(("week", 'must be "jalali" or "iso"'))
    if any(w < 1 or w > 520 for w in rules.streak_weeks):
        problems.append(("streak_weeks", "each must be from 1 to 520 weeks"))
    if len(set(rules.streak_weeks)) != len(rules.streak_weeks):
        problems.append(("streak_weeks", "a streak is listed twice"))
    visits = [m.visits for m in rules.milestones]
    if any(v < 1 for v in visits):
        problems.append(("milestones", "a milestone's visits must be at least 1"))
    if len(set(visits)) != len(visits):
        problems.append(("milestones", "a milestone is listed twice"))
    for name, value in (
        ("streak_bonus", rules.streak_bonus),
        ("first_redemption_bonus", rules.first_redemption_bonus),
        ("tier_bonus", rules.tier_bonus),
        *(("milestones", m.bonus) for m in rules.milestones),
    ):
        if value < 0:
            problems.append((name, "a bonus must be 0 or more points"))
    return problems
