"""What the counter remembers between screens: the shopper, the cashier's shift, the language.

Plain Python, no Kivy: the screens read and change it, the app's tick asks it whether the
shopper or the shift has timed out. Time comes from the service's clock, so tests move a
manual clock instead of sleeping.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.core.clock import Clock
from kiosk.core.store.staff import Actor
from kiosk.text.i18n import Language


@dataclass
class Shift:
    """A cashier (or manager) signed in for one shopper's session (or none: the menu)."""

    actor: Actor
    last_used: datetime
    member_id: str | None  # the shopper served; the shift serves no one else


class Counter:
    """The state of one counter: who is being served, by whom, in which language."""

    def __init__(
        self,
        clock: Clock,
        *,
        default_language: Language,
        idle_timeout: timedelta,
        shift_timeout: timedelta,
    ) -> None:
        self.clock = clock
        self.default_language: Language = default_language
        self.language: Language = default_language
        self.idle_timeout = idle_timeout
        self.shift_timeout = shift_timeout
        self.member_id: str | None = None
        # A card tapped that belongs to nobody yet: enrollment links it.
        self.pending_card: str | None = None
        self.phone: str | None = None
        self.shift: Shift | None = None
        self.last_activity = clock()

    def touched(self) -> None:
        """Someone touched the screen or tapped a card: the shopper is still there."""
        self.last_activity = self.clock()

    def idle(self) -> bool:
        """Whether nobody has touched the kiosk for the idle timeout."""
        return self.clock() - self.last_activity >= self.idle_timeout

    def forget_shopper(self) -> None:
        """Privacy: drop everything about the shopper and go back to the shop's language.

        The shift ends too: a cashier who walked away without logging out must not leave
        the next shopper a till that credits purchases without a PIN.
        """
        self.shift = None
        self.member_id = None
        self.pending_card = None
        self.phone = None
        self.language = self.default_language

    def cashier(self) -> Actor | None:
        """The staff member of the open shift, or None when it is closed, timed out, or was
        opened for another shopper than the one now served."""
        shift = self.shift
        if shift is None:
            return None
        if (
            self.clock() - shift.last_used >= self.shift_timeout
            or shift.member_id != self.member_id
        ):
            self.shift = None
            return None
        return shift.actor

    def open_shift(self, actor: Actor) -> None:
        """Start (or take over) the shift, for the shopper now served (if any)."""
        self.shift = Shift(actor, self.clock(), self.member_id)

    def shift_used(self) -> None:
        """The cashier did something: the shift's timeout starts again."""
        if self.shift is not None:
            self.shift.last_used = self.clock()

    def close_shift(self) -> None:
        """Log the cashier out."""
        self.shift = None


def new_txn_id(kind: str) -> str:
    """A client transaction id for one intended change (kept across a double tap)."""
    return f"ui-{kind}-{uuid.uuid4()}"
