"""The shopper's rating of a visit: five faces on the result screen, then reasons.

The faces are a row of the result screen (`FeedbackFaces`), shown when the core says an
ask is due (kiosk/core/feedback.py); they never hold the counter: the result screen's own
timeout, a card tapped or the cashier's next sale go on as before. One tap stores the
rating at once (so a shopper who walks away after it is still counted) and opens
`FeedbackScreen`, where reasons from a fixed list are toggled by big buttons; it goes
back to the attract screen by itself after the result screen's time, and a card tapped
there serves the next shopper at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from kivy.app import App
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.core.feedback import REASONS
from kiosk.text.i18n import N_
from kiosk.ui.requests import AttractRequest
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import KButton

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

# Each face by rating: its glyph in the icon font (Material Icons' sentiment_*), which
# has no direction, so it is the same in Persian and English.
FACES: Final = {
    1: "\ue814",  # sentiment_very_dissatisfied
    2: "\ue811",  # sentiment_dissatisfied
    3: "\ue812",  # sentiment_neutral
    4: "\ue813",  # sentiment_satisfied
    5: "\ue815",  # sentiment_very_satisfied
}
# The catalogue's keys of the reasons (the screen builds them from REASONS).
REASON_KEYS: Final = (
    N_("feedback.reason.staff"),
    N_("feedback.reason.price"),
    N_("feedback.reason.quality"),
    N_("feedback.reason.waiting"),
    N_("feedback.reason.cleanliness"),
    N_("feedback.reason.choice"),
)


class FaceButton(KButton):
    """One of the five faces (its rating 1..5)."""

    rating = NumericProperty(0)


class FeedbackFaces(BoxLayout):
    """The result screen's row "How was your visit?" with five faces, or nothing."""

    visit = StringProperty("")

    @property
    def app(self) -> KioskApp:
        """The running kiosk app."""
        app: KioskApp = App.get_running_app()
        return app

    def offer(self, earned: bool) -> None:
        """Ask about the purchase just recorded, if the core says an ask is due now."""
        app = self.app
        member = app.counter.member_id
        asked = app.visit_feedback.ask(member) if earned and member is not None else None
        self.visit = asked or ""

    def rate(self, rating: int) -> None:
        """A face was tapped: stored at once, then the reasons (once per visit)."""
        visit = self.visit
        if not visit:
            return
        self.visit = ""  # a second tap on the result screen rates nothing
        app = self.app
        if not app.visit_feedback.rate(visit, rating):
            return
        screen: FeedbackScreen = app.manager.get_screen("feedback")  # type: ignore[union-attr]
        screen.visit, screen.rating = visit, rating
        app.result_until = None
        app.go("feedback")


class FeedbackScreen(KioskScreen[None]):
    """Optional reasons for the rating just given, as big buttons; done or timed out."""

    enter_button = "done"
    escape_button = "done"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.visit = ""
        self.rating = 0
        self.chosen: tuple[str, ...] = ()
        self.until: datetime | None = None

    def prepare(self, request: None) -> None:
        self.chosen = ()
        self._keep_open()

    def _keep_open(self) -> None:
        app = self.app
        self.until = app.clock() + timedelta(seconds=app.config_.ui.result_seconds)

    def refresh(self) -> None:
        app = self.app
        self.ids.face.text = app.show(FACES.get(self.rating, ""))
        self.ids.title.text = app.t("feedback.why")
        reasons = self.ids.reasons
        reasons.clear_widgets()
        for reason in REASONS:
            button = KButton(
                text=app.t(f"feedback.reason.{reason}"), font_scale=app.theme.type.body
            )
            button.key = reason
            if reason in self.chosen:
                button.background_color = app.theme.colours.accent
                button.color = app.theme.colours.on_accent
            button.bind(on_release=lambda b: self.toggle(b.key))
            reasons.add_widget(button)

    def reason_button(self, reason: str) -> KButton:
        """The button of one reason (tests touch it)."""
        for child in self.ids.reasons.children:
            if getattr(child, "key", None) == reason:
                return child  # type: ignore[no-any-return]
        raise KeyError(reason)

    def toggle(self, reason: str) -> None:
        """Add or take back a reason; stored at once."""
        if not self.visit:
            return
        self.chosen = self.app.visit_feedback.toggle_reason(self.visit, reason)
        self._keep_open()
        self.refresh()

    def tick(self) -> None:
        if self.until is not None and self.app.clock() >= self.until:
            self.done()

    def done(self) -> None:
        """Thanks, and the next shopper."""
        app = self.app
        self.until = None
        app.go_home()
        app.go(AttractRequest(message_key=N_("feedback.thanks")))

    def forget(self) -> None:
        self.visit, self.rating, self.chosen, self.until = "", 0, (), None
