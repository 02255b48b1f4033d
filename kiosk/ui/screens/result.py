"""The result screen: "+N points" arriving calmly, the new balance, a line for each thing
the purchase got besides its points (a birthday, the anniversary of joining, the offers
that applied, a referral, a badge celebrated with a trophy), the visit's rating offered,
then back to the next shopper (or on to a new member's screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from kivy.animation import Animation
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.config import ProgramConfig
from kiosk.core import badges, referral
from kiosk.core.program import QuoteLine
from kiosk.core.results import Bonus
from kiosk.text.i18n import N_
from kiosk.ui.requests import BonusLine, ResultRequest
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.shopper import badge_name, local_name, texts_join
from kiosk.ui.widgets import ICON_FONT, ButtonIcon, KLabel

TROPHY: Final = "\uea23"  # Material Icons emoji_events, in the icon font
# The lines' order on screen, whatever order the entries were written in.
ORDER: Final = ("birthday", "anniversary", "offer", "referral", "badge")


def bonus_lines(
    bonuses: Sequence[Bonus], quote: Sequence[QuoteLine], program: ProgramConfig
) -> tuple[BonusLine, ...]:
    """The result screen's lines for a purchase: its bonus entries by reason and the
    offers its quote applied (kiosk/core/program.py), in the order of ORDER."""
    lines: list[BonusLine] = []
    for bonus in bonuses:
        if bonus.reason in ("birthday", "anniversary", referral.REASON):
            lines.append(BonusLine(bonus.reason, bonus.points))  # type: ignore[arg-type]
        elif bonus.reason.startswith(badges.REASON_PREFIX):
            badge = bonus.reason[len(badges.REASON_PREFIX) :]
            lines.append(BonusLine("badge", bonus.points, ref=badge))
    offers = {offer.id: offer for offer in program.offers}
    multiplied = False  # the one multiplier comes first (kiosk/core/offers.py combine)
    for line in quote:
        if line.code != "offer":
            continue
        offer_id = str(line.params.get("offer", ""))
        offer = offers.get(offer_id)
        name = str(line.params.get("name", offer_id))
        multiplier = Decimal(line.params.get("multiplier", 1))
        times = multiplier if multiplier > 1 and not multiplied else None
        multiplied = multiplied or times is not None
        lines.append(
            BonusLine(
                "offer",
                line.points,
                ref=offer_id,
                name_fa=offer.name_fa if offer else name,
                name_en=offer.name_en if offer else name,
                multiplier=times,
            )
        )
    return tuple(sorted(lines, key=lambda line: ORDER.index(line.kind)))


class IconLine(KLabel):
    """A centred line with an icon (a character of the icon font) at its reading start,
    the two centred together (as a button's icon and text are: widgets.KButton)."""

    icon = StringProperty("")
    icon_colour = ListProperty([])  # the text's colour when not given
    rtl = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self.icon_label: ButtonIcon | None = None
        super().__init__(**kwargs)
        self.bind(
            icon=self._place_icon,
            rtl=self._place_icon,
            texture=self._place_icon,
            pos=self._place_icon,
            size=self._place_icon,
            font_size=self._place_icon,
            color=self._place_icon,
        )

    def _place_icon(self, *_: Any) -> None:
        if not self.icon:
            return
        if self.icon_label is None:
            self.icon_label = ButtonIcon(font_name=ICON_FONT, halign="center", valign="middle")
            self.add_widget(self.icon_label)
        icon = self.icon_label
        side = self.font_size * 1.2
        gap = self.font_size * 0.3
        icon.text = self.icon
        icon.font_size = side
        icon.color = self.icon_colour or self.color
        icon.size = (side, self.height)
        icon.text_size = icon.size
        lines = getattr(self._label, "_cached_lines", None) or []
        line = max((ln.w for ln in lines), default=0)
        start = self.center_x + (line / 2 if self.rtl else -line / 2)
        icon.x = start + gap if self.rtl else start - gap - side
        icon.y = self.y


# The message of each kind of line (named here, so that `make translations` finds them).
LINE_KEYS: Final = {
    "birthday": N_("result.birthday"),
    "anniversary": N_("result.anniversary"),
    "referral": N_("result.referral"),
}


def offer_text(app: Any, offer: str, multiplier: Decimal | None, points: int) -> str:
    """An applied offer named with what it gave: "Double points: ×2", "Big basket: +20
    points" (`offer`: its name, as shown), unshaped."""
    texts = app.texts
    if multiplier is not None:
        return str(texts.tr("offer.multiplier", offer=offer, multiplier=multiplier))
    return str(texts.tr("offer.bonus", offer=offer, points=points))


def line_text(app: Any, line: BonusLine) -> str:
    """A result line's text in the screen's language (shaped)."""
    if line.kind == "offer":
        offer = local_name(line.name_fa, line.name_en, app.texts)
        return str(app.show(offer_text(app, offer, line.multiplier, line.points)))
    if line.kind == "badge":
        name = badge_name(app.texts, line.ref, app.service.program.tiers)
        return str(app.t("result.badge", badge=name, points=line.points))
    return str(app.t(LINE_KEYS[line.kind], points=line.points))


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
        self.show_lines(shown.lines)

    def show_lines(self, lines: Sequence[BonusLine]) -> None:
        """A line per kind, badges together on one with a trophy; the fewer the lines, the
        larger their type (five fit at 800x480)."""
        app = self.app
        box = self.ids.lines
        box.clear_widgets()
        found = [line for line in lines if line.kind != "badge"]
        won = [line for line in lines if line.kind == "badge"]
        texts = [line_text(app, line) for line in found]
        if won:
            names = [badge_name(app.texts, b.ref, app.service.program.tiers) for b in won]
            joined = texts_join(app.texts, names)
            texts.append(app.t("result.badge", badge=joined, points=sum(b.points for b in won)))
        scale = app.theme.type
        size = {1: scale.body, 2: scale.body, 3: scale.label, 4: scale.small}
        for index, text in enumerate(texts):
            trophy = bool(won) and index == len(texts) - 1
            box.add_widget(
                IconLine(
                    text=text,
                    halign="center",
                    font_scale=size.get(len(texts), scale.caption),
                    icon=TROPHY if trophy else "",
                    icon_colour=app.theme.colours.success,
                    rtl=app.rtl,
                )
            )

    def line_texts(self) -> list[str]:
        """The lines shown under the balance, top to bottom (tests read them)."""
        return [child.text for child in reversed(self.ids.lines.children)]

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
