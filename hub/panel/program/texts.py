"""The program, devices and staff pages' words, Persian and English side by side.

Each is a `Text`, shown in the page's language by `{{ t.name }}` (Text.__str__): the
services below say their refusals and reasons the same way, so a page mixes no catalog
with them.
"""

from __future__ import annotations

from hub.program.wording import Text

T = {
    # -- the program -----------------------------------------------------------------
    "program": Text("برنامهٔ باشگاه", "Program"),
    "version": Text("نسخه", "Version"),
    "in_force": Text("نسخهٔ جاری", "In force"),
    "published": Text("منتشر شده", "Published"),
    "by": Text("به دست", "By"),
    "cli": Text("خط فرمان سرور", "the hub's command"),
    "edit": Text("ویرایش برنامه", "Edit the program"),
    "mode": Text("نوع باشگاه", "Kind of club"),
    "mode_points": Text("امتیاز به ازای خرید", "Points for spending"),
    "mode_stamps": Text("کارت مهر (هر خرید یک مهر)", "Stamp card (a stamp a visit)"),
    "points": Text("امتیاز", "Points"),
    "per_amount": Text("به ازای هر", "For each"),
    "enrollment_bonus": Text("هدیهٔ عضویت (امتیاز)", "Enrollment bonus (points)"),
    "birthday_bonus": Text("هدیهٔ تولد (امتیاز)", "Birthday bonus (points)"),
    "rules_limits": Text("قاعده‌ها و سقف‌ها", "Rules and limits"),
    "max_points_per_purchase": Text(
        "سقف امتیاز هر خرید (۰: بی‌سقف)", "Most points a purchase (0: no cap)"
    ),
    "max_amount": Text("بیشترین مبلغ یک خرید", "Largest purchase"),
    "max_adjust_points": Text("سقف اصلاح امتیاز از دستگاه", "Largest adjustment at a kiosk"),
    "max_opening_balance": Text("سقف موجودی اولیهٔ واردشده", "Largest imported opening balance"),
    "offline_redemption_allowance": Text(
        "امتیازی که عضو بی‌اتصال به سرور می‌تواند خرج کند",
        "Points a member may spend while the kiosk is offline",
    ),
    "verification": Text("کد تأیید پیامکی", "Codes by SMS"),
    "verification_link_card": Text(
        "پیش از افزودن کارت به شمارهٔ عضوی که هست، کدی به آن شماره پیامک شود",
        "Text a code to the phone before a card is linked to an existing member",
    ),
    "verification_enroll": Text(
        "پیش از عضویت، کدی به شمارهٔ تازه پیامک شود",
        "Text a code to the phone before it is enrolled",
    ),
    "verification_hint": Text(
        "دستگاه‌ها و سرور هر دو همین تنظیم را می‌خوانند؛ بدون کد، صندوقدار تأیید می‌کند و "
        "سرور آن را برای شما نشان می‌گذارد.",
        "The kiosks and the hub both follow this setting; without a code a cashier "
        "approves, and the hub flags it for you.",
    ),
    "tiers": Text("سطح‌ها", "Tiers"),
    "rewards": Text("جایزه‌ها", "Rewards"),
    "id": Text("شناسه", "Id"),
    "name_fa": Text("نام فارسی", "Persian name"),
    "name_en": Text("نام انگلیسی", "English name"),
    "threshold": Text("از امتیاز", "From points"),
    "multiplier": Text("ضریب", "Multiplier"),
    "cost": Text("بها (امتیاز)", "Cost (points)"),
    "kind": Text("نوع", "Kind"),
    "value": Text("مقدار (مبلغ یا درصد)", "Value (amount or percent)"),
    "active_from": Text("از تاریخ", "From"),
    "active_until": Text("تا تاریخ", "Until"),
    "date_example": Text("۱۴۰۵/۰۱/۱۵", "2026-04-04"),
    "remove": Text("حذف", "Remove"),
    "new_row": Text("ردیف تازه", "New row"),
    "fixed_discount": Text("تخفیف مبلغی", "Amount off"),
    "percent_discount": Text("تخفیف درصدی", "Percent off"),
    "free_item": Text("کالای رایگان", "Free item"),
    "preview": Text("پیش‌نمایش", "Preview"),
    "preview_amount": Text("مبلغ خرید برای پیش‌نمایش", "A purchase to preview"),
    "publish": Text("انتشار و ارسال به همهٔ دستگاه‌ها", "Publish to every kiosk"),
    "purchase_earns": Text("خریدی به مبلغ", "A purchase of"),
    "earns": Text("امتیاز می‌گیرد", "earns"),
    "tier": Text("سطح", "Tier"),
    "capped": Text("(به سقف رسید)", "(capped)"),
    "above_max": Text(
        "دستگاه‌ها خریدی به این بزرگی را نمی‌پذیرند.", "Kiosks refuse a purchase this large."
    ),
    "stamps_note": Text(
        "در کارت مهر هر خرید به اندازهٔ تنظیم هر دستگاه مهر می‌گیرد، نه بر پایهٔ مبلغ.",
        "On a stamp card each purchase earns the stamps set on each kiosk, not by amount.",
    ),
    "min_purchase_note": Text(
        "کمترین خرید امتیازدار را هر دستگاه خودش دارد.",
        "Each kiosk keeps its own smallest purchase that earns.",
    ),
    "fix_errors": Text(
        "چند خانه درست نیست؛ کنار هر یک نوشته شده.", "Some fields are not right; see beside each."
    ),
    "published_now": Text(
        "منتشر شد: دستگاه‌ها در دریافت بعدی آن را می‌گیرند.",
        "Published: kiosks take it at their next pull.",
    ),
    # -- issue 20's rules (hub/panel/program/sections.py) ---------------------------
    "offers": Text("پیشنهادهای زمان‌دار", "Limited-time offers"),
    "offers_hint": Text(
        "خانهٔ خالی یعنی «همه»: هر روز، تمام روز، همهٔ شعبه‌ها و سطح‌ها. از چند پیشنهاد هم‌زمان "
        "بیشترین ضریب و همهٔ هدیه‌ها به خرید می‌رسد.",
        "An empty field means any: every day, all day, every branch and tier. Of offers at "
        "once, the highest multiplier and every bonus apply.",
    ),
    "offer": Text("پیشنهاد", "Offer"),
    "new_offer": Text("پیشنهاد تازه", "A new offer"),
    "offer_multiplier": Text("ضریب امتیاز (۱ تا ۱۰)", "Points multiplier (1 to 10)"),
    "bonus": Text("امتیاز هدیه", "Bonus points"),
    "starts": Text("از تاریخ", "From date"),
    "ends": Text("تا تاریخ (با خودش)", "Until date (inclusive)"),
    "from_time": Text("از ساعت", "From time"),
    "until_time": Text("تا ساعت (بی خودش)", "Until time (exclusive)"),
    "time_example": Text("۱۲:۰۰", "12:00"),
    "min_amount": Text("کمترین مبلغ سبد", "Smallest basket"),
    "weekdays": Text("روزهای هفته", "Weekdays"),
    "offer_tiers": Text("سطح‌ها", "Tiers"),
    "sat": Text("شنبه", "Sat"),
    "sun": Text("یکشنبه", "Sun"),
    "mon": Text("دوشنبه", "Mon"),
    "tue": Text("سه‌شنبه", "Tue"),
    "wed": Text("چهارشنبه", "Wed"),
    "thu": Text("پنجشنبه", "Thu"),
    "fri": Text("جمعه", "Fri"),
    "feedback": Text("نظرسنجی پس از خرید", "Feedback after a purchase"),
    "feedback-enabled": Text(
        "پس از خرید نظر خریدار پرسیده شود", "Ask the shopper to rate the visit"
    ),
    "feedback-every_days": Text(
        "هر عضو دست‌کم هر چند روز یک بار (۱ تا ۳۶۵۰)",
        "At most once per member every (days, 1 to 3650)",
    ),
    "referral": Text("معرفی دوستان", "Referrals"),
    "referral-enabled": Text("به معرفی هدیه داده شود", "Pay referral bonuses"),
    "referral-referrer_bonus": Text("هدیهٔ معرف (امتیاز)", "Referrer's bonus (points)"),
    "referral-referee_bonus": Text("هدیهٔ عضو تازه (امتیاز)", "New member's bonus (points)"),
    "referral-max_per_month": Text(
        "بیشترین معرفی پرداختی به هر معرف در ماه", "Most referrals paid to one referrer a month"
    ),
    "referral-min_purchase": Text("کمترین نخستین خرید", "Smallest first purchase"),
    "badges": Text("پیوستگی و نشان‌ها", "Streaks and badges"),
    "badges-week": Text("آغاز هفته", "A week starts"),
    "week_jalali": Text("شنبه (تقویم ایرانی)", "Saturday (Persian calendar)"),
    "week_iso": Text("دوشنبه (ISO)", "Monday (ISO)"),
    "badges-streak_weeks": Text(
        "زنجیره‌ها (هفته‌های پیاپی، با ویرگول)", "Streaks (weeks in a row, comma-separated)"
    ),
    "badges-streak_bonus": Text("هدیهٔ هر زنجیره (امتیاز)", "Each streak's bonus (points)"),
    "badges-first_redemption_bonus": Text(
        "هدیهٔ نخستین دریافت جایزه (امتیاز)", "First redemption's bonus (points)"
    ),
    "badges-tier_bonus": Text("هدیهٔ رسیدن به سطح بالاتر (امتیاز)", "Reaching a tier (points)"),
    "milestones": Text("دیدارهای نشان‌دار", "Visit milestones"),
    "visits": Text("دیدار شمارهٔ", "Visit number"),
    "badges_hint": Text(
        "نشانی که هدیه‌اش صفر است داده نمی‌شود.", "A badge with a bonus of 0 is not given."
    ),
    "phone_page": Text("باشگاه روی گوشی", "The club on the phone"),
    "phone_page-enabled": Text(
        "کد QR صفحهٔ عضو روی دستگاه نشان داده شود", "Show the member page's QR code at the kiosks"
    ),
    "phone_page-url": Text("نشانی عمومی سرور (اختیاری)", "The hub's public address (optional)"),
    "would_change": Text("انتشار این نسخه این‌ها را تغییر می‌دهد", "Publishing this would change"),
    "club_size": Text("اندازهٔ باشگاه", "The club's size"),
    "show_member_count": Text(
        "شمار اعضای باشگاه روی صفحهٔ آغاز دستگاه‌ها نشان داده شود",
        "Show the club's size on the kiosks' attract screen",
    ),
    "history": Text("تاریخچهٔ نسخه‌ها", "Versions"),
    "changes": Text("تغییرها", "Changes"),
    "first_version": Text("نخستین نسخه", "The first version"),
    "arrow": Text("←", "→"),
    "compare": Text("مقایسهٔ دو نسخه", "Compare two versions"),
    "compare_from": Text("از نسخه", "From version"),
    "compare_to": Text("تا نسخه", "To version"),
    "no_version": Text("چنین نسخه‌ای نیست.", "No such version."),
    "no_changes": Text("تفاوتی ندارند.", "No differences."),
    "added": Text("افزوده شد", "added"),
    "removed": Text("برداشته شد", "removed"),
    "owner_only": Text(
        "تنها مالک می‌تواند برنامه را منتشر کند.", "Only the owner publishes the program."
    ),
    # -- branches and devices --------------------------------------------------------
    "devices": Text("شعبه‌ها و دستگاه‌ها", "Branches and devices"),
    "branches": Text("شعبه‌ها", "Branches"),
    "device_list": Text("دستگاه‌ها", "Devices"),
    "branch": Text("شعبه", "Branch"),
    "add_branch": Text("افزودن شعبه", "Add a branch"),
    "branch_name": Text("نام شعبه", "Branch name"),
    "add_device": Text("افزودن دستگاه", "Add a device"),
    "device": Text("دستگاه", "Device"),
    "device_id": Text("شناسهٔ دستگاه", "Device id"),
    "count": Text("دستگاه‌های فعال", "Devices in use"),
    "state": Text("وضعیت", "State"),
    "last_seen": Text("آخرین تماس", "Last seen"),
    "never": Text("هرگز", "never"),
    "queue": Text("در صف ارسال", "Queued"),
    "oldest": Text("قدیمی‌ترین ارسال‌نشده", "Oldest unsynced"),
    "readers": Text("کارت‌خوان‌ها", "Readers"),
    "disk": Text("فضای آزاد", "Free disk"),
    "clock": Text("اختلاف ساعت", "Clock offset"),
    "ms": Text("میلی‌ثانیه", "ms"),
    "software": Text("نسخهٔ نرم‌افزار", "Version"),
    "reasons": Text("چرا", "Why"),
    "revoke": Text("لغو دستگاه", "Revoke"),
    "new_code": Text("کد تازه", "New code"),
    "code_once": Text(
        "کد یک‌بارمصرف دستگاه (تنها همین یک بار نشان داده می‌شود؛ تا ۲۴ ساعت):",
        "The device's one-time code (shown this once; valid 24 hours):",
    ),
    "code_how": Text(
        "این کد را در صفحهٔ تکنسین دستگاه وارد کنید.",
        "Type it on the kiosk's technician screen.",
    ),
    "revoke_confirm": Text(
        "این دستگاه برای همیشه لغو می‌شود: درخواست‌ها و کدهایش پذیرفته نمی‌شود. مطمئنید؟",
        "The device is revoked for good: its requests and codes are refused. Are you sure?",
    ),
    "revoked_now": Text("دستگاه لغو شد.", "The device is revoked."),
    "cancel": Text("انصراف", "Cancel"),
    "branch_added": Text("شعبه افزوده شد.", "Branch added."),
    # -- staff -------------------------------------------------------------------------
    "staff": Text("کارکنان", "Staff"),
    "add_staff": Text("افزودن کارمند", "Add a staff member"),
    "name": Text("نام", "Name"),
    "role": Text("نقش", "Role"),
    "cards": Text("کارت‌های کارمند (با ویرگول)", "Staff cards (comma-separated)"),
    "pin": Text("رمز (۴ تا ۸ رقم)", "PIN (4 to 8 digits)"),
    "new_pin": Text("رمز تازه", "New PIN"),
    "reset_pin": Text("تغییر رمز", "Reset the PIN"),
    "disable": Text("غیرفعال کردن", "Disable"),
    "enable": Text("فعال کردن", "Enable"),
    "disabled": Text("غیرفعال", "Disabled"),
    "active": Text("فعال", "Active"),
    "save": Text("ذخیره و ارسال به دستگاه‌ها", "Save and send to the kiosks"),
    "saved": Text(
        "ذخیره شد: دستگاه‌ها در دریافت بعدی آن را می‌گیرند.",
        "Saved: kiosks take it at their next pull.",
    ),
    "technicians": Text(
        "تکنسین‌ها روی خود دستگاه ساخته می‌شوند، نه از اینجا.",
        "Technicians are made at the kiosk itself, not here.",
    ),
    "no_branch": Text("بی‌شعبه (از خط فرمان)", "No branch (from the command line)"),
    "staff_id": Text("شناسهٔ کارمند (خالی: ساخته می‌شود)", "Staff id (empty: one is made)"),
}
