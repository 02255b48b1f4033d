"""Every screen of the touch app, by the name the app navigates with."""

from __future__ import annotations

from typing import Any

from kiosk.ui.requests import ScreenName
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.cashier import AmountScreen, CashierScreen, RedeemScreen
from kiosk.ui.screens.enrollment import BirthdayScreen, EnrollScreen, NameScreen, ReferralScreen
from kiosk.ui.screens.feedback import FeedbackScreen
from kiosk.ui.screens.provision import FirstBootScreen, ProvisionScreen
from kiosk.ui.screens.result import ResultScreen
from kiosk.ui.screens.shopper import AttractScreen, MemberScreen, PhoneScreen
from kiosk.ui.screens.sign_in import PinScreen
from kiosk.ui.screens.technician import (
    NewPinScreen,
    OutOfServiceScreen,
    StaffScreen,
    TechScreen,
)
from kiosk.ui.screens.verify import VerifyScreen
from kiosk.ui.screens.void import VoidScreen

SCREENS: dict[ScreenName, type[KioskScreen[Any]]] = {
    "attract": AttractScreen,
    "phone": PhoneScreen,
    "enroll": EnrollScreen,
    "name": NameScreen,
    "birthday": BirthdayScreen,
    "referral": ReferralScreen,
    "member": MemberScreen,
    "pin": PinScreen,
    "amount": AmountScreen,
    "result": ResultScreen,
    "redeem": RedeemScreen,
    "cashier": CashierScreen,
    "void": VoidScreen,
    "tech": TechScreen,
    "provision": ProvisionScreen,
    "first_boot": FirstBootScreen,
    "staff": StaffScreen,
    "new_pin": NewPinScreen,
    "out_of_service": OutOfServiceScreen,
    "verify": VerifyScreen,
    "feedback": FeedbackScreen,
}

__all__ = ["SCREENS", "KioskScreen"]
