"""The result screen: "+N points" arriving calmly, the new balance, a badge celebrated,
the visit's rating offered, then back to the next shopper (or on to a new member's screen).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from kivy.animation import Animation

from kiosk.core import badges
from kiosk.ui.requests import ResultRequest
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.shopper import badge_name, texts_join


class ResultScreen(KioskScreen[ResultRequest]):
    """ "+N points" with an animation and a sound, the new balance, automatic return."""

    enter_button = "done"
    escape_button = "done"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request: ResultRequest | None = None
        self.entrance: Animation | None = None

    def prepare(self, request: ResultRequest) -> None:
        self.request = request
        app = self.app
        app.result_until = app.clock() + timedelta(seconds=app.config_.ui.result_seconds)
        app.sounds.play("earn")
        self.ids.points.opacity = 0.0  # not drawn at rest for a frame before its entrance
        self.ids.faces.offer(request.kind == "earn")  # the visit rating, when due

    def refresh(self) -> None:
        app = self.app
        shown = self.request
        if shown is None:  # shown only through a request
            return
        self.ids.points.text = app.t(f"result.{shown.kind}", points=shown.points)
        self.ids.balance.text = app.t("result.balance", points=shown.balance)
        bonus = shown.bonus
        self.ids.extra.text = app.t("result.birthday", points=bonus) if bonus else ""
        # A badge reached at this purchase is celebrated (a trophy and its name) instead.
        member_id = app.counter.member_id
        new = []
        if shown.kind == "earn" and member_id is not None:
            new = badges.badges_at_last_visit(app.service.conn, member_id)
        if new:
            self.ids.extra.text = app.t(
                "result.badge",
                badge=texts_join(
                    app.texts,
                    [badge_name(app.texts, a.badge, app.service.program.tiers) for a in new],
                ),
                points=sum(a.points for a in new),
            )
        self.ids.badge_icon.opacity = 1.0 if new else 0.0

    def done(self) -> None:
        """The result was seen (its button, or its time is up): a new member goes on to
        their own screen, for the purchase being made now; otherwise the next shopper."""
        app = self.app
        app.result_until = None
        enrolled = self.request is not None and self.request.kind == "enroll"
        if enrolled and app.counter.member_id is not None:
            app.go("member")
        else:
            app.go_home()

    def on_enter(self, *_: Any) -> None:
        label = self.ids.points
        Animation.cancel_all(label)
        self.entrance = points_entrance(label, self.app.u)
        self.entrance.start(label)

    def settle(self) -> None:
        """The "+N points" line at rest now (a screenshot does not wait for its entrance)."""
        label = self.ids.points
        Animation.cancel_all(label)
        label.opacity, label.rise = 1.0, 0.0


# "+N points" arrives calmly: it fades in while rising a little into its place, slowing to
# a stop. No bounce past its place and no change of size: a size change lays the line out
# again on every frame and pulls the eye twice.
ENTRANCE_SECONDS: Final = 0.6
ENTRANCE_RISE: Final = 0.05  # how far below its place it starts, a share of the height


def points_entrance(label: Any, u: float) -> Animation:
    """The label set at the entrance's start, and the animation that brings it to rest."""
    label.opacity = 0.0
    label.rise = -u * ENTRANCE_RISE
    return Animation(opacity=1.0, rise=0.0, duration=ENTRANCE_SECONDS, t="out_cubic")
