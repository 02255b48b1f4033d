"""The kiosk's widgets: labels and buttons in our font, keypads, a progress meter, status dots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget


class KLabel(Label):
    """A single-line label in the kiosk font (shaped text only: see `KioskApp.t`).

    A long line is shortened at its end; a label with `fit` set (an amount typed, which
    the cashier must see whole) draws it smaller instead, never cut.
    """

    # The font size as a share of the window's height (kv: font_size = app.u * font_scale).
    font_scale = NumericProperty(0.05)
    fit = BooleanProperty(False)
    # The share of the nominal font size that `fit` leaves (1 when the line fits).
    fit_scale = NumericProperty(1.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(
            text=self._fit, width=self._fit, fit=self._fit, font_scale=self._fit, bold=self._fit
        )

    def _fit(self, *_: Any) -> None:
        if not self.fit or not self.text or self.width <= 1:
            self.fit_scale = 1.0
            return
        nominal = self.font_size / self.fit_scale
        room = self.width - self.padding[0] - self.padding[2] - 4  # Kivy's own margin is 2
        size = int(nominal)
        width = self._line_width(size)
        while size > 1 and width > room:  # glyphs' widths are not quite linear in the size
            size = max(1, min(size - 1, int(size * room / width)))
            width = self._line_width(size)
        self.fit_scale = min(1.0, size / nominal)

    def _line_width(self, font_size: int) -> float:
        line = CoreLabel(font_size=font_size, font_name=self.font_name, bold=self.bold)
        width: float = line.get_extents(self.text)[0]
        return width


ICON_FONT = "Icons"  # Material Icons (assets/icons/, Apache-2.0), registered in app.py
# Each icon by name: its code point in the icon font, left to right and right to left. An
# icon that points somewhere (back) is mirrored in Persian: back is to the reading start.
ICONS: dict[str, tuple[str, str]] = {
    "back": ("\ue5c4", "\ue5c8"),  # arrow_back; arrow_forward in Persian
    "language": ("\ue894", "\ue894"),  # language (a globe)
    "cashier": ("\uf17e", "\uf17e"),  # point_of_sale
    "phone": ("\ue0bc", "\ue0bc"),  # dialpad
    "join": ("\ue7fe", "\ue7fe"),  # person_add
    "purchase": ("\ue8cb", "\ue8cb"),  # shopping_basket
    "redeem": ("\ue8b1", "\ue8b1"),  # redeem (a gift)
    "done": ("\ue5ca", "\ue5ca"),  # check
    "cancel": ("\ue5cd", "\ue5cd"),  # close
    "void": ("\ue166", "\ue166"),  # undo
    "logout": ("\ue897", "\ue897"),  # lock
    "sync": ("\ue627", "\ue627"),  # sync
    "settings": ("\ue8b8", "\ue8b8"),  # settings
    "restart": ("\uf053", "\uf053"),  # restart_alt
    "staff": ("\uea67", "\uea67"),  # badge
}


def icon_glyph(name: str, rtl: bool) -> str:
    """The icon font's character for the icon `name` in a language's direction."""
    ltr, mirrored = ICONS[name]
    return mirrored if rtl else ltr


class ButtonIcon(Label):
    """A button's icon, in the icon font, beside the text at the reading-start side."""


class KButton(Button):
    """A big flat button in the kiosk font, with an icon beside its text if it has one.

    The icon (`icon`, a name in ICONS) goes on the side where the text starts to read:
    left of the text in English, right of it in Persian; the text moves over by half the
    icon's room so that the two stay centred together.
    """

    key = StringProperty("")
    font_scale = NumericProperty(0.05)
    icon = StringProperty("")
    rtl = BooleanProperty(False)
    # As KLabel's: every line of the text whole, drawn smaller if need be, never cut. A
    # fitted button may have a line break between lines shaped each on its own (give it
    # max_lines=2, shorten=False): a reward's name, and its points under it.
    fit = BooleanProperty(False)
    fit_scale = NumericProperty(1.0)

    def __init__(self, **kwargs: Any) -> None:
        self.icon_label: ButtonIcon | None = None
        super().__init__(**kwargs)
        self.bind(
            text=self._fit, width=self._fit, fit=self._fit, font_scale=self._fit, icon=self._fit
        )
        self._fit()
        self.bind(
            icon=self._place_icon,
            rtl=self._place_icon,
            texture=self._place_icon,
            pos=self._place_icon,
            size=self._place_icon,
            font_size=self._place_icon,
            color=self._place_icon,
        )
        self._place_icon()

    def _fit(self, *_: Any) -> None:
        if not self.fit or not self.text or self.width <= 1:
            self.fit_scale = 1.0
            return
        nominal = self.font_size / self.fit_scale
        lines = self.text.split("\n")

        def room(size: int) -> float:  # the width beside the icon at that size (_place_icon)
            return float(self.width) - (size * 1.45 if self.icon else 0) - 4  # Kivy's margin: 2

        def widest(size: int) -> float:
            line = CoreLabel(font_size=size, font_name=self.font_name, bold=self.bold)
            return max(float(line.get_extents(text)[0]) for text in lines)

        size = int(nominal)
        width = widest(size)
        while size > 1 and width > room(size):  # glyphs' widths are not quite linear
            size = max(1, min(size - 1, int(size * room(size) / width)))
            width = widest(size)
        self.fit_scale = min(1.0, size / nominal)

    def _place_icon(self, *_: Any) -> None:
        if not self.icon:
            if self.icon_label is not None:
                self.remove_widget(self.icon_label)
                self.icon_label = None
                self.padding = [0, 0, 0, 0]
            return
        if self.icon_label is None:
            self.icon_label = ButtonIcon(font_name=ICON_FONT, halign="center", valign="middle")
            self.add_widget(self.icon_label)
        icon = self.icon_label
        side = self.font_size * 1.15
        gap = self.font_size * 0.3
        room = side + gap
        padding = [0, 0, room, 0] if self.rtl else [room, 0, 0, 0]
        if list(self.padding) != padding:
            self.padding = padding  # the texture is redrawn: this runs again
            return
        icon.text = icon_glyph(self.icon, self.rtl)
        icon.font_size = side
        icon.color = self.color
        icon.disabled_color = self.disabled_color
        icon.size = (side, self.height)
        icon.text_size = icon.size
        lines = getattr(self._label, "_cached_lines", None) or []
        line = max((ln.w for ln in lines), default=0)
        free = self.width - room
        if self.rtl:  # the text's right-hand end, then the icon
            icon.x = self.x + (free + line) / 2 + gap
        else:
            icon.x = self.x + room + (free - line) / 2 - gap - side
        icon.y = self.y


class MirrorBox(BoxLayout):
    """A horizontal box that lays its children out right to left when `rtl` is set.

    Kivy 2.3's BoxLayout only knows left to right; a Persian screen mirrors its rows
    (the back button on the right, the reading order of fields), so the children's
    positions are reflected after the usual layout.
    """

    rtl = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(rtl=self._trigger_layout)

    def do_layout(self, *args: Any) -> None:
        super().do_layout(*args)
        if self.rtl and self.orientation == "horizontal":
            for child in self.children:
                child.x = self.x + (self.right - child.right)


class Keypad(GridLayout):
    """A grid of keys; `on_key` fires with the key's id ("0".."9", "back", "ok", ...).

    Keypads keep the phone layout (1 2 3 on top, left to right) in both languages:
    shoppers know it from their phones, and mirroring it would put 3 where 1 is.
    """

    keys = ListProperty([])
    labels = ListProperty([])
    enabled = BooleanProperty(True)

    def __init__(self, **kwargs: Any) -> None:
        self.register_event_type("on_key")
        super().__init__(**kwargs)
        self.bind(keys=self._rebuild, labels=self._relabel, enabled=self._enable)
        self._rebuild()

    def _rebuild(self, *_: Any) -> None:
        self.clear_widgets()
        for key in self.keys:
            button = KButton(key=key)
            button.bind(on_release=self._pressed)
            self.add_widget(button)
        self._relabel()
        self._enable()

    def _relabel(self, *_: Any) -> None:
        buttons = list(reversed(self.children))
        for button, label in zip(buttons, self.labels, strict=False):
            button.text = label

    def _enable(self, *_: Any) -> None:
        for button in self.children:
            button.disabled = not self.enabled

    def button(self, key: str) -> KButton:
        """The button of `key` (tests touch it)."""
        for child in self.children:
            if isinstance(child, KButton) and child.key == key:
                return child
        raise KeyError(key)

    def _pressed(self, button: KButton) -> None:
        self.dispatch("on_key", button.key)

    def on_key(self, key: str) -> None:
        """Default handler of the `on_key` event."""


class LetterKeyboard(Keypad):
    """A keypad whose keys are laid out in rows as a keyboard's, each row centred.

    `row_lengths` says how many of `keys` (in order) each row holds, top to bottom, and
    `widths` how many keys wide a key is (the space bar, delete); every other key is one
    key wide, all rows sharing one key width (the widest row fills the width). Rows run
    left to right in both languages, as printed on a keyboard; the keys stay the
    keyboard's children, so `button` and the key events are those of any keypad.
    """

    row_lengths = ListProperty([])
    widths = DictProperty({})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(row_lengths=self._trigger_layout, widths=self._trigger_layout)

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        """Lay out `rows` of keys (each row left to right, the top row first)."""
        self.row_lengths = [len(row) for row in rows]
        self.keys = [key for row in rows for key in row]

    def do_layout(self, *_: Any) -> None:
        buttons = list(reversed(self.children))
        if not buttons or sum(self.row_lengths) != len(buttons):
            return
        gap_x, gap_y = self.spacing
        rows = []
        for length in self.row_lengths:
            rows.append(buttons[:length])
            buttons = buttons[length:]
        key_width = min(  # the widest row (in keys and gaps) fills the width
            (self.width - gap_x * (len(row) - 1)) / sum(self.widths.get(b.key, 1) for b in row)
            for row in rows
        )
        key_height = (self.height - gap_y * (len(rows) - 1)) / len(rows)
        for index, row in enumerate(rows):
            sizes = [self.widths.get(b.key, 1) * key_width for b in row]
            used = sum(sizes) + gap_x * (len(row) - 1)
            x = self.x + (self.width - used) / 2
            y = self.top - (index + 1) * key_height - index * gap_y
            for button, width in zip(row, sizes, strict=True):
                button.size_hint = (None, None)
                button.size = (width, key_height)
                button.pos = (x, y)
                x += width + gap_x


class Meter(Widget):
    """A progress bar that fills from the reading direction's start (right in Persian).

    Drawn by its kv rule (kv/widgets.kv), whose canvas follows the widget's position.
    """

    value = NumericProperty(0.0)
    rtl = BooleanProperty(False)
    fill = ColorProperty([0.2, 0.65, 0.35, 1])
    track = ColorProperty([0.85, 0.85, 0.85, 1])

    def on_value(self, _widget: Meter, value: float) -> None:
        # A member past a threshold (or a negative balance after a void) fills 0..1 only.
        clamped = min(max(float(value), 0.0), 1.0)
        if clamped != value:
            self.value = clamped


class StatusDot(Widget):
    """A small round status light: "ok", "warn", "fault" or "off", in the theme's colours
    (kv: app.theme.status), always beside the word it stands for."""

    state = StringProperty("ok")


class Message(KLabel):
    """A screen's message line: an error, a success or a note, each in its own colour.

    Screens fill it through `KioskScreen.say` and `fail`, which set its tone with its
    text; cleared, it is back to "error", so an error written straight into it is red.
    """

    tone = OptionProperty("error", options=("error", "success", "note"))
    # Its colour is the theme's for the tone (kv: app.theme.tone), each at least 4.5:1
    # against the screens' background (kiosk/ui/theme.py PAIRS).
