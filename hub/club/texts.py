"""The phone page's words, in Persian and English (Persian first, as the kiosk's).

Kept here as pairs (hub/program/wording.py's Text), as the opt-out page's are: the page is
the member's, apart from the panel and its catalogues.
"""

from __future__ import annotations

from hub.program.wording import Text

CONSENT_LINES = (
    Text(
        "می‌خواهم پیامک پیشنهادها و جشنواره‌های باشگاه را دریافت کنم.",
        "I want SMS about the club's offers and events.",
    ),
    Text(
        "هر وقت بخواهید از همین صفحه یا با پاسخ «لغو» آن را خاموش کنید.",
        "Turn it off here at any time, or reply STOP.",
    ),
)

TEXTS: dict[str, Text] = {
    "title": Text("باشگاه مشتریان", "Customer club"),
    "other_language": Text("English", "فارسی"),
    "phone_intro": Text(
        "امتیازها و جایزه‌هایتان را ببینید. شمارهٔ همراهتان را بنویسید تا کدی برایتان پیامک شود.",
        "See your points and rewards. Type your mobile number and we will text you a code.",
    ),
    "phone_label": Text("شمارهٔ همراه", "Mobile number"),
    "phone_bad": Text("این شمارهٔ همراه درست نیست.", "This is not a mobile number."),
    "send": Text("فرستادن کد", "Send the code"),
    "code_intro": Text(
        "اگر این شماره عضو باشگاه باشد، کدی پنج‌رقمی به آن پیامک شد. کد را بنویسید.",
        "If this number is a club member, a five-digit code was texted to it. Type the code.",
    ),
    "code_label": Text("کد پیامک‌شده", "The code"),
    "sign_in": Text("ورود", "Sign in"),
    "resend": Text("فرستادن دوبارهٔ کد", "Send a new code"),
    "other_phone": Text("شمارهٔ دیگر", "Another number"),
    "code_wrong": Text(
        "کد درست نیست. {left} بار دیگر می‌توانید.", "Not the code. {left} tries left."
    ),
    "code_dead": Text(
        "این کد دیگر کار نمی‌کند. کد تازه بخواهید.", "This code no longer works. Ask for a new one."
    ),
    "wait": Text(
        "لطفاً {seconds} ثانیهٔ دیگر دوباره بخواهید.", "Please ask again in {seconds} seconds."
    ),
    "session_over": Text(
        "برای امنیت شما، دوباره وارد شوید.", "For your safety, please sign in again."
    ),
    "expired": Text(
        "این صفحه زیاد باز مانده بود. شماره را دوباره بنویسید؛ "
        "اگر باز هم دیدید، کوکی‌های مرورگر را روشن کنید.",
        "This page was open too long. Type your number again; if you see this again, "
        "allow cookies in your browser.",
    ),
    "hello": Text("سلام", "Hello"),
    "balance": Text("امتیاز شما", "Your points"),
    "points": Text("امتیاز", "points"),
    "history": Text("آخرین تراکنش‌ها", "Latest activity"),
    "no_history": Text("هنوز تراکنشی نیست.", "Nothing yet."),
    "rewards": Text("جایزه‌ها", "Rewards"),
    "affordable": Text("می‌توانید بگیرید", "You can have it"),
    "needs": Text("{points} امتیاز دیگر", "{points} more points"),
    "no_rewards": Text("جایزه‌ای تعریف نشده است.", "No rewards yet."),
    "badges": Text("نشان‌ها", "Badges"),
    "no_badges": Text("به‌زودی.", "Coming soon."),
    "consent": Text("پیامک‌های تبلیغاتی", "Marketing SMS"),
    "consent_on": Text("روشن است", "On"),
    "consent_off": Text("خاموش است", "Off"),
    "turn_off": Text("خاموش کن", "Turn off"),
    "turn_on": Text("روشن کن", "Turn on"),
    "consent_saved": Text("انتخاب شما ذخیره شد.", "Your choice is saved."),
    "consent_version": Text("نسخهٔ متن رضایت", "Consent text version"),
    "erase": Text("پاک کردن عضویت و اطلاعاتم", "Erase my membership and data"),
    "erase_intro": Text(
        "نام، شماره، تاریخ تولد و کارت‌هایتان همین حالا از باشگاه پاک می‌شود و امتیازهایتان "
        "از دست می‌رود. این کار برگشت ندارد.",
        "Your name, number, birthday and cards are removed from the club now, and your "
        "points are lost. This cannot be undone.",
    ),
    "erase_confirm": Text("می‌دانم و می‌خواهم پاک شود", "I understand; erase it"),
    "erase_button": Text("پاک کن", "Erase"),
    "erase_not_confirmed": Text(
        "برای پاک کردن، تأیید را علامت بزنید.", "Tick the confirmation to erase."
    ),
    "erase_fresh": Text(
        "برای پاک کردن، اول دوباره با کد پیامکی وارد شوید.",
        "To erase, first sign in again with a code by SMS.",
    ),
    "erased": Text(
        "اطلاعات شما پاک شد. از همراهی‌تان سپاسگزاریم.",
        "Your data is erased. Thank you for having been with us.",
    ),
    "back": Text("بازگشت", "Back"),
    "sign_out": Text("خروج", "Sign out"),
    "signed_out": Text("از حساب خارج شدید.", "You are signed out."),
    "kind_earn": Text("خرید", "Purchase"),
    "kind_redeem": Text("جایزه", "Reward"),
    "kind_bonus": Text("هدیه", "Bonus"),
    "kind_adjust": Text("اصلاح", "Adjustment"),
    "kind_expire": Text("منقضی", "Expired"),
    "kind_reversal": Text("برگشت", "Reversal"),
    "audit_consent": Text("عضو رضایت پیامک را از تلفنش تغییر داد", "Member changed SMS consent"),
    "audit_erase": Text("عضو خودش را از تلفنش پاک کرد", "Member erased themselves"),
    "audit_sign_in": Text("عضو با تلفنش وارد شد", "Member signed in on their phone"),
}


def words(language: str) -> dict[str, str]:
    """Every text in `language`, for a template."""
    return {key: text.pick(language) for key, text in TEXTS.items()}
