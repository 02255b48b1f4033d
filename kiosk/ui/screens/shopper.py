"""The shopper's screens: attract, phone keypad, member (result: result.py; enrollment:
enrollment.py)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from kivy.uix.image import Image
from phonenumbers import AsYouTypeFormatter

from kiosk.core import badges, referral
from kiosk.core.clock import from_iso
from kiosk.core.offers import ends_at, name_in, running_now
from kiosk.core.social import club_size
from kiosk.core.store.staff import SHOPPER, Actor
from kiosk.core.summary import member_summary
from kiosk.core.verification import LINK_CARD, Verified
from kiosk.errors import (
    KioskError,
    UnknownMember,
)
from kiosk.text.i18n import Texts
from kiosk.text.rtl import has_rtl, ltr
from kiosk.ui.requests import (
    AttractRequest,
    EnrollRequest,
    MemberRequest,
    PhoneRequest,
    PinPurpose,
    PinRequest,
    RedeemRequest,
    TechRequest,
    VerifyRequest,
)
from kiosk.ui.screens import verify
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.enrollment import consent_version
from kiosk.ui.screens.entry import DigitEntry
from kiosk.ui.widgets import KButton

_GESTURE_TAPS = 5
_GESTURE_WINDOW = timedelta(seconds=4)
_PHONE_DIGITS = 14


class AttractScreen(KioskScreen[AttractRequest | None]):
    """The program's promise, "tap your card or enter your phone", language, status."""

    enter_button = "phone"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gesture_taps: list[Any] = []
        self.message_key = ""

    def on_kv_post(self, base_widget: Any) -> None:
        """Put the shop's logo (shop.logo) before its name, when one is configured."""
        logo = self.app.theme.logo
        if logo:
            row = self.ids.shop.parent  # the reading start: first in the mirrored row
            image = Image(
                source=logo, fit_mode="contain", size_hint_x=None, width=self.app.u * 0.12
            )
            self.app.bind(u=lambda _app, u: setattr(image, "width", u * 0.12))
            self.ids["logo"] = image
            row.add_widget(image, index=len(row.children))

    @property
    def shop_name(self) -> str:
        return self.app.show(self.app.config_.shop.name)

    def prepare(self, request: AttractRequest | None) -> None:
        self.message_key = request.message_key if request is not None else ""

    def refresh(self) -> None:
        app = self.app
        program = app.service.program  # the CRM's update, if it sent one
        texts = app.texts
        if program.mode == "stamps":
            promise = app.t(
                "attract.promise_stamps",
                amount=texts.money(program.stamps.min_purchase),
                stamps=program.stamps.stamps_for_reward,
            )
        else:
            promise = app.t(
                "attract.promise", points=program.points, amount=texts.money(program.per_amount)
            )
        self.ids.promise.text = promise
        self.ids.shop.text = self.shop_name
        self.say(self.message_key)
        self.message_key = ""
        self.status_changed()
        members = ""
        if program.show_member_count:  # docs/program.md, "Social proof": the hub's, or ours
            size = club_size(app.service.conn, app.clock().timestamp())
            count = texts.number(size.count)
            if size.chain:  # the hub's count is the whole club's, not this branch's
                members = app.t("attract.members_club", count=count)
            else:
                members = app.t("attract.members", count=count, shop=app.config_.shop.name)
        self.ids.members.text = members
        self.tick()

    def tick(self) -> None:
        """Show the offer running now at this branch and until when, by the app's clock;
        nothing once it has ended (docs/program.md, "Limited-time offers")."""
        app = self.app
        now = app.clock().astimezone(app.service.tz)
        offer = running_now(app.service.program.offers, now, app.config_.shop.name)
        text = ""
        if offer is not None:
            until = app.texts.digits(ends_at(offer, now).strftime("%H:%M"))
            text = app.t("attract.offer_until", offer=name_in(offer, app.lang), time=until)
        if self.ids.offer.text != text:
            self.ids.offer.text = text

    def status_changed(self) -> None:
        app = self.app
        states = [event.state for event in app.reader_states.values()]
        if not states:
            reader = "warn"
        elif all(state == "connected" for state in states):
            reader = "ok"
        else:
            reader = "fault"
        self.ids.reader_dot.state = reader
        self.ids.reader_text.text = app.t(f"attract.reader.{reader}")
        network = app.network_state
        self.ids.network_dot.state = {"online": "ok", "offline": "fault"}.get(network, "off")
        self.ids.network_text.text = app.t(f"attract.network.{network}")

    def on_touch_down(self, touch: Any) -> bool:
        # The hidden technician gesture: five taps on the shop's name within four seconds.
        if self.ids.shop.collide_point(*touch.pos):
            now = self.app.clock()
            self.gesture_taps = [t for t in self.gesture_taps if now - t < _GESTURE_WINDOW]
            self.gesture_taps.append(now)
            if len(self.gesture_taps) >= _GESTURE_TAPS:
                self.gesture_taps = []
                self.app.go(
                    PinRequest(
                        PinPurpose.TECHNICIAN, then=lambda actor: self.app.go(TechRequest(actor))
                    )
                )
                return True
        return bool(super().on_touch_down(touch))

    def cashier(self) -> None:
        """The cashier's button: their menu, always behind a PIN or staff card.

        Never an open shift's: whoever stands at the screen now may not be its cashier.
        """
        self.app.go(PinRequest(PinPurpose.SHIFT, then=self._opened))

    def _opened(self, actor: Actor) -> None:
        self.app.counter.open_shift(actor)
        self.app.go("cashier")


class PhoneScreen(DigitEntry[PhoneRequest | None]):
    """Phone keypad: Persian or Latin digits, formatted as typed; unknown numbers may enroll."""

    escape_button = "back"

    max_digits = _PHONE_DIGITS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.note_key = "phone.hint"

    def prepare(self, request: PhoneRequest | None) -> None:
        self.digits = ""
        self.note_key = request.note_key if request is not None else "phone.hint"

    def refresh(self) -> None:
        app = self.app
        example = ltr(app.texts.digits("0912 345 6789"))
        self.ids.hint.text = app.t(self.note_key, example=example)
        super().refresh()

    def show_digits(self) -> None:
        formatter = AsYouTypeFormatter(self.app.config_.shop.phone_region)
        shown = ""
        for digit in self.digits:
            shown = formatter.input_digit(digit)
        # Phone numbers read left to right in Persian too.
        self.ids.display.text = self.app.show(ltr(self.app.texts.digits(shown)))

    def submit(self) -> None:
        app = self.app
        try:
            member = app.service.identify_phone(self.digits)
        except UnknownMember:
            app.counter.phone = self.digits
            app.go(EnrollRequest(phone=self.digits))
            return
        except KioskError as error:
            self.fail(error)
            return
        counter = app.counter
        if counter.pending_card is not None and verify.counter_verification(app).required(
            LINK_CARD
        ):
            # The phone may be someone else's: a code sent to it first (or a cashier), and
            # the member is not the one at the counter until then.
            card, counter.pending_card = counter.pending_card, None
            then = functools.partial(_link, app, member.member_id, card)
            request = VerifyRequest(self.digits, LINK_CARD, card, then=then, back="phone")
            verify.start(app, request)
            return
        counter.member_id = member.member_id
        if counter.pending_card is not None:
            card, counter.pending_card = counter.pending_card, None
            try:
                app.service.link_card(member.member_id, card, actor=SHOPPER)
            except KioskError as error:
                self.fail(error)
                return
            app.go(MemberRequest(message_key="member.card_linked"))
            return
        app.go("member")


def _link(app: Any, member_id: str, card: str, verified: Verified) -> None:
    """Link the card once the phone is verified (or a cashier approved)."""
    try:
        verify.counter_verification(app).link_card(member_id, card, verified)
    except KioskError as error:
        app.screen.fail(error)
        return
    app.counter.member_id = member_id
    app.go(MemberRequest(message_key="member.card_linked"))


class MemberScreen(KioskScreen[MemberRequest | None]):
    """Balance, tier and progress, points expiring soon, rewards (affordable ones lit)."""

    enter_button = "purchase"
    escape_button = "done"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message_key = ""

    def prepare(self, request: MemberRequest | None) -> None:
        self.message_key = request.message_key if request is not None else ""

    def refresh(self) -> None:
        app = self.app
        member_id = app.counter.member_id
        if member_id is None:
            return
        try:
            summary = member_summary(app.service, member_id)
        except KioskError as error:
            self.fail(error)
            return
        texts = app.texts
        name = own_direction(_masked_name(summary.name), rtl=texts.rtl)
        self.ids.greeting.text = (
            app.t("member.hello_name", name=name) if name else app.t("member.hello")
        )
        phone = mask_phone_display(summary.phone_masked, texts)
        self.ids.phone.text = app.show(phone)
        self.ids.balance.text = app.t("member.balance", points=summary.balance)
        tier_name = local_name(summary.tier_name_fa, summary.tier_name_en, texts)
        self.ids.tier.text = app.t("member.tier", tier=tier_name)
        # The service's program: the CRM may have replaced the configured tiers and rewards.
        tiers = {t.id: t for t in app.service.program.tiers}
        if summary.next_tier is not None and summary.points_to_next_tier is not None:
            above = tiers[summary.next_tier]
            above_name = local_name(above.name_fa, above.name_en, texts)
            self.ids.tier_progress_text.text = app.t(
                "member.to_next_tier", points=summary.points_to_next_tier, tier=above_name
            )
            self.ids.tier_progress.value = summary.earned_in_window / max(above.threshold, 1)
        else:
            self.ids.tier_progress_text.text = app.t("member.top_tier")
            self.ids.tier_progress.value = 1
        rewards = {r.reward_id: r for r in summary.rewards}
        if summary.next_reward is not None and summary.points_to_next_reward is not None:
            reward = rewards[summary.next_reward]
            self.ids.reward_progress_text.text = app.t(
                "member.to_next_reward",
                points=summary.points_to_next_reward,
                reward=local_name(reward.name_fa, reward.name_en, texts),
            )
            self.ids.reward_progress.value = summary.balance / max(reward.cost, 1)
        else:
            self.ids.reward_progress_text.text = app.t("member.all_rewards")
            self.ids.reward_progress.value = 1
        if summary.expiring_points and summary.expiring_first_at:
            when = from_iso(summary.expiring_first_at).astimezone(app.service.tz).date()
            self.ids.expiring.text = app.t(
                "member.expiring", points=summary.expiring_points, date=when
            )
        else:
            self.ids.expiring.text = ""
        visits = [v for v in summary.last_visits if not v.voided]
        if visits:
            when = from_iso(visits[0].at).astimezone(app.service.tz).date()
            self.ids.last_visit.text = app.t("member.last_visit", date=when)
        else:
            self.ids.last_visit.text = ""
        self._rewards(summary)
        # The member's badges (docs/program.md, "Streaks and badges"), from their entries.
        had = badges.badges_had(app.service.conn, member_id)
        names = [badge_name(texts, b, app.service.program.tiers) for b in had[-2:]]
        self.ids.badges.text = (
            app.t("member.badges", badges=texts_join(texts, names)) if had else ""
        )
        # The member's referral code while the program pays referrals (docs/program.md).
        rule = referral.rule_for(app.service.conn, referral.config_rule(app.config_))
        code = ltr(app.texts.digits(referral.shown(referral.code_for(member_id))))
        self.ids.referral_code.text = (
            app.t("member.referral_code", code=code) if rule.enabled else ""
        )
        # The club's page on the phone (docs/club.md): its address only, nothing of the member.
        from kiosk.ui.qr import phone_page_url

        page = phone_page_url(app.service.conn, app.config_.crm.url, app.lang)
        self.ids.qr.data = page or ""
        self.ids.qr_caption.text = app.t("member.phone_page") if page else ""
        # Withdrawing consent is one tap here, as giving it was one tick at enrollment.
        offers = self.ids.offers
        offers.disabled = not summary.consent_marketing
        offers.opacity = 1 if summary.consent_marketing else 0
        self.say(self.message_key)
        self.message_key = ""

    def stop_offers(self) -> None:
        """The shopper withdraws marketing consent (recorded with the text's version)."""
        app = self.app
        member_id = app.counter.member_id
        if member_id is None:
            return
        try:
            app.service.set_consent(member_id, marketing=False, version=consent_version())
        except KioskError as error:
            self.fail(error)
            return
        self.message_key = "member.offers_stopped"
        self.refresh()

    def _rewards(self, summary: Any) -> None:
        app = self.app
        box = self.ids.rewards
        box.clear_widgets()
        for reward in summary.rewards[:4]:
            name = app.show(local_name(reward.name_fa, reward.name_en, app.texts))
            # Two lines, each read whole (drawn smaller rather than cut): the reward's name,
            # and under it its points, or how many more it takes.
            more = max(reward.cost - summary.balance, 0)
            points = (
                app.t("member.reward_points", points=reward.cost)
                if reward.affordable
                else app.t("member.reward_more", points=more)
            )
            button = KButton(
                key=reward.reward_id,
                text=f"{name}\n{points}",
                font_scale=app.theme.type.fine,
                icon="redeem",
                disabled=not reward.affordable or not summary.can_redeem,
                max_lines=2,
                shorten=False,
                fit=True,
            )
            colours = app.theme.colours
            if reward.affordable:
                button.background_color = colours.accent
                button.color = colours.on_accent
            else:
                # Not yet: readable (dark text on a muted surface, not greyed out), and
                # how many more points it takes.
                button.background_color = colours.out_of_reach
                button.disabled_color = colours.on_out_of_reach
            button.bind(on_release=lambda b: self.pick(b.key))
            box.add_widget(button)

    def reward_button(self, reward_id: str) -> KButton:
        """The button of a reward (tests touch it)."""
        for child in self.ids.rewards.children:
            if child.key == reward_id:
                return child  # type: ignore[no-any-return]
        raise KeyError(reward_id)

    def pick(self, reward_id: str) -> None:
        self.app.go(RedeemRequest(reward_id))

    def purchase(self) -> None:
        """The cashier's button: amount keypad, behind a shift opened for this shopper."""
        app = self.app
        if app.counter.cashier() is not None:
            app.go("amount")
            return

        def opened(actor: Actor) -> None:
            app.counter.open_shift(actor)
            app.go("amount")

        app.go(PinRequest(PinPurpose.SHIFT, then=opened, back="member"))


def badge_name(texts: Texts, badge: str, tiers: tuple[Any, ...]) -> str:
    """A badge's name in the shopper's language (kiosk/core/badges.py ids)."""
    kind, figure = badges.badge_kind(badge)
    if kind == "visits":
        return texts.tr("badge.visits", count=int(figure))
    if kind == "streak":
        return texts.tr("badge.streak", weeks=int(figure))
    if kind == "tier":
        named = {t.id: local_name(t.name_fa, t.name_en, texts) for t in tiers}
        return texts.tr("badge.tier", tier=named.get(figure, figure))
    return texts.tr("badge.first_redemption")


def texts_join(texts: Texts, names: list[str]) -> str:
    """Names in a list, with the language's comma ("، " in Persian)."""
    return texts.tr("common.list_separator").join(names)


def _masked_name(name: str | None) -> str:
    """The first name and the initial of the rest: "Sara K." (others are at the counter)."""
    if not name:
        return ""
    parts = name.split()
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[1][0]}."


def local_name(name_fa: str, name_en: str, texts: Texts) -> str:
    """A name the program gives in both languages, in this one (the other if it has none),
    kept in its own script's direction inside the line."""
    first, other = (name_fa, name_en) if texts.language == "fa" else (name_en, name_fa)
    return own_direction(first or other, rtl=texts.rtl)


def own_direction(text: str, *, rtl: bool) -> str:
    """`text` (a name: data) in its own script's direction inside a line that reads `rtl`.

    "سارا ک." in an English line keeps its full stop on its left, and "یک چای (۶۰)" does
    not swallow the bracket after it; "Sara K." in a Persian line the same way round.
    The pure-Python bidi algorithm takes no isolates (LRI, RLI), so the name is an
    embedding (LRE or RLE ... PDF) between marks of the line's direction (LRM or RLM).
    """
    if not text:
        return text
    mark = "\u200f" if rtl else "\u200e"
    embedded = "\u202b" + text + "\u202c" if has_rtl(text) else ltr(text)
    return mark + embedded + mark


def mask_phone_display(masked: str | None, texts: Texts) -> str:
    """The masked phone (••• and the last digits), left to right, in the language's digits."""
    if not masked:
        return ""
    return ltr(texts.digits(masked))
