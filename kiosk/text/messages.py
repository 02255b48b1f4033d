"""Message keys that code builds at run time, listed so that Babel extracts them.

`make translations` finds keys written literally in `t(...)`, `tr(...)`, `say(...)` and
kv rules; a key made from parts (`f"error.phone.{reason}"`) is invisible to it, so every
such family is spelled out here. A test checks that each error a core module can raise
has its key in this list and in both catalogues.
"""

from __future__ import annotations

from kiosk.text.i18n import N_

DYNAMIC_KEYS = (
    # KioskError.key of every error class, and the reasons of the parametrised ones.
    N_("error.generic"),
    N_("error.invalid_input"),
    N_("error.phone.empty"),
    N_("error.phone.not_a_number"),
    N_("error.phone.too_short"),
    N_("error.phone.too_long"),
    N_("error.phone.invalid"),
    N_("error.phone.not_mobile"),
    N_("error.card_uid"),
    N_("error.amount.empty"),
    N_("error.amount.not_a_number"),
    N_("error.amount.negative"),
    N_("error.amount.too_precise"),
    N_("error.amount.too_large"),
    N_("error.amount.not_positive"),
    N_("error.date"),
    N_("error.unknown_member"),
    N_("error.member_erased"),
    N_("error.already_enrolled"),
    N_("error.card_blocked"),
    N_("error.card_in_use"),
    N_("error.unknown_card"),
    N_("error.insufficient_points"),
    N_("error.insufficient_points.crm"),
    N_("error.unknown_reward"),
    N_("error.reward_inactive"),
    N_("error.limit.earns_per_day"),
    N_("error.limit.too_soon"),
    N_("error.limit.offline"),
    N_("error.manager_approval_required"),
    N_("error.self_approval"),
    N_("error.void_needs_manager"),
    N_("error.not_allowed"),
    N_("error.unknown_entry"),
    N_("error.not_reversible"),
    N_("error.idempotency_conflict"),
    N_("error.unknown_staff"),
    N_("error.staff_disabled"),
    N_("error.wrong_pin"),
    N_("error.locked_out"),
    N_("error.invalid_pin"),
    N_("error.weak_pin"),
    N_("error.duplicate_pin"),
    N_("error.storage"),
    # Units, roles, languages, reader states.
    N_("unit.rial"),
    N_("unit.toman"),
    N_("unit.rial.amount"),
    N_("unit.toman.amount"),
    N_("role.cashier"),
    N_("role.manager"),
    N_("role.technician"),
    N_("language.fa"),
    N_("language.en"),
    N_("reader.connected"),
    N_("reader.connecting"),
    N_("reader.disconnected"),
    N_("reader.error"),
    N_("reader.stopped"),
    # Screens' families.
    N_("attract.reader.ok"),
    N_("attract.reader.warn"),
    N_("attract.reader.fault"),
    N_("attract.network.online"),
    N_("attract.network.offline"),
    N_("attract.network.off"),
    N_("enroll.marketing.no"),
    N_("enroll.marketing.yes"),
    N_("enroll.consent.1"),
    N_("enroll.consent.2"),
    N_("enroll.consent.3"),
    N_("keypad.back"),
    N_("keypad.ok"),
    N_("keypad.clear"),
    N_("keypad.decimal"),
    N_("keypad.space"),
    N_("keypad.shift"),
    N_("keypad.zwnj"),
    N_("pin.title.shift"),
    N_("pin.title.approve"),
    N_("pin.title.manager"),
    N_("pin.title.technician"),
    N_("result.earn"),
    N_("result.enroll"),
    N_("result.void"),
    N_("void.reason.wrong_amount"),
    N_("void.reason.wrong_member"),
    N_("void.reason.returned"),
    N_("void.reason.other"),
    N_("tech.diag.sync.off"),
    N_("tech.diag.sync.online"),
    N_("tech.diag.sync.offline"),
    N_("tech.diag.database_ok"),
    N_("tech.diag.database_bad"),
    N_("staff.active"),
    N_("staff.disabled_state"),
    N_("member.card_linked"),
    N_("phone.hint"),
    N_("phone.new_card"),
    N_("staff.added"),
    N_("staff.choose"),
    N_("staff.disabled"),
    N_("staff.new_pin"),
    N_("staff.repeat_pin"),
    N_("tech.sync_started"),
    N_("error.provision"),
    N_("error.provision.unknown_code"),
    N_("error.provision.used_code"),
    N_("error.provision.expired_code"),
    N_("error.provision.crm_unreachable"),
    N_("error.provision.crm_refused"),
    N_("error.provision.bad_url"),
    N_("error.provision.unacknowledged"),
    N_("error.provision.not_provisioned"),
    N_("error.provision.config"),
    N_("member.offers_stopped"),
    N_("error.data_key"),
    N_("error.secret_exposed"),
    N_("error.storage.uncertain"),
    N_("out_of_service.uncertain"),
    N_("out_of_service.detail"),
)

# What kind of message a key the screens say is, for its style: a key under "error." is
# an error, and so are these; a success is said in its own colour; the rest are notes.
PROBLEM_KEYS = frozenset(
    {
        "pin.no_staff",
        "pin.not_staff_card",
        "staff.pins_differ",
        "tech.provision.missing",
        "tech.sync_not_set_up",
    }
)
SUCCESS_KEYS = frozenset(
    {
        "cashier.shift_opened",
        "member.card_linked",
        "member.offers_stopped",
        "staff.added",
        "staff.disabled",
        "tech.default_language_set",
        "tech.provision.done",
        "tech.reader_test_ok",
        "tech.sync_started",
    }
)


def message_tone(key: str) -> str:
    """ "error", "success" or "note": what kind of message `key` is."""
    if key.startswith("error.") or key in PROBLEM_KEYS:
        return "error"
    return "success" if key in SUCCESS_KEYS else "note"
