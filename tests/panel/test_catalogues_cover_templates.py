"""Each of the panel's Persian catalogues holds the strings of its own pages.

A part's templates live in hub/panel/templates/panel/<part>/, outside hub/panel/<part>/
where its catalogue is; the panel's own pages (base, sign-in, audit, dashboard...) are
hub/panel/templates/panel/*.html with hub/panel/locale. A string missing from its
catalogue is shown in English on a Persian page, and test_formats.py cannot see it (it
reads the catalogues, not the pages): this reads the pages as Django compiles them.
`make translations` makes each catalogue from exactly these files (the Makefile).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PANEL = ROOT / "hub" / "panel"
TEMPLATES = PANEL / "templates" / "panel"
PARTS = sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir())

# A message: its context ("" for none) and its singular msgid.
Message = tuple[str, str]

# Django's gettext functions (those makemessages gives xgettext), with the position of
# the context and of the msgid in their arguments.
PYTHON_CALLS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
# `_("...")` inside a variable or a tag's argument, which Django translates too.
UNDERSCORE = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>.*?)(?P=q)\s*\)""")


@pytest.fixture(scope="module", autouse=True)
def _django(django_in_process: None) -> None:
    """Django's template engine and settings (no database is touched)."""


def catalogue_of(name: str) -> Path:
    folder = PANEL if name == "panel" else PANEL / name
    return folder / "locale" / "fa" / "LC_MESSAGES" / "django.po"


def templates_of(name: str) -> list[Path]:
    if name == "panel":
        return sorted(p for p in TEMPLATES.glob("*.html"))
    return sorted((TEMPLATES / name).rglob("*.html"))


def code_of(name: str) -> list[Path]:
    if name != "panel":
        return sorted((PANEL / name).rglob("*.py"))
    return sorted(
        p
        for p in PANEL.rglob("*.py")
        if p.relative_to(PANEL).parts[0] not in PARTS and "migrations" not in p.parts
    )


def template_messages(path: Path) -> set[Message]:
    """The msgids a template asks for, as Django's own nodes compute them when rendering
    (a blocktranslate's text with its %(name)s, trimmed, % doubled)."""
    from django.template import Engine
    from django.template.base import Lexer, TokenType
    from django.templatetags.i18n import BlockTranslateNode, TranslateNode

    source = path.read_text(encoding="utf-8")
    template = Engine.get_default().from_string(source)
    found: set[Message] = set()
    for node in template.nodelist.get_nodes_by_type(TranslateNode):
        assert isinstance(node, TranslateNode)
        variable = node.filter_expression.var
        # Literal strings only ({% translate name %} translates a variable's value); the
        # node marks its variable for translation when rendering, unless it is a noop.
        if not node.noop and isinstance(variable.literal, str):
            context = node.message_context.var if node.message_context else ""
            found.add((str(context), str(variable.literal).replace("%", "%%")))
    for node in template.nodelist.get_nodes_by_type(BlockTranslateNode):
        assert isinstance(node, BlockTranslateNode)
        singular, _names = node.render_token_list(node.singular)
        context = node.message_context.var if node.message_context else ""
        found.add((str(context), singular))
    for token in Lexer(source).tokenize():
        if token.token_type in (TokenType.VAR, TokenType.BLOCK):
            for match in UNDERSCORE.finditer(token.contents):
                found.add(("", match["text"].replace("%", "%%")))
    return found


def code_messages(path: Path) -> set[Message]:
    found: set[Message] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in PYTHON_CALLS:
            continue
        context_at, msgid_at = PYTHON_CALLS[name]
        strings = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if len(strings) <= msgid_at or not isinstance(strings[msgid_at], str):
            continue  # a variable: its strings are marked where they are written
        context = strings[context_at] if context_at is not None else ""
        found.add((str(context or ""), str(strings[msgid_at])))
    return found


def catalogue_messages(po: Path) -> set[Message]:
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    found: set[Message] = set()
    for message in catalogue:
        if message.id:
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            found.add((message.context or "", str(msgid)))
    return found


def wanted(name: str) -> dict[Message, list[str]]:
    """Each message of a catalogue's pages and code, with the files that ask for it."""
    where: dict[Message, list[str]] = {}
    for path in templates_of(name):
        for message in template_messages(path):
            where.setdefault(message, []).append(str(path.relative_to(ROOT)))
    for path in code_of(name):
        for message in code_messages(path):
            where.setdefault(message, []).append(str(path.relative_to(ROOT)))
    return where


def test_every_part_with_templates_has_its_catalogue_in_the_hubs_locale_paths():
    from django.conf import settings

    paths = {Path(p).resolve() for p in settings.LOCALE_PATHS}
    for part in PARTS:
        assert part in settings.PANEL_PARTS, f"templates/panel/{part}/ is no part of the panel"
        assert (PANEL / part / "locale").resolve() in paths, part


@pytest.mark.parametrize("name", ["panel", *PARTS])
def test_a_catalogue_has_every_string_of_its_own_templates_and_code(name: str):
    where = wanted(name)
    po = catalogue_of(name)
    if not where:
        return  # nothing to translate (the program pages say theirs in texts.py)
    assert po.exists(), f"{po.relative_to(ROOT)} is missing (make translations makes it)"
    have = catalogue_messages(po)
    missing = {
        f"{context + chr(4) if context else ''}{msgid!r} ({', '.join(sorted(set(files)))})"
        for (context, msgid), files in where.items()
        if (context, msgid) not in have
    }
    assert not missing, (
        f"{po.relative_to(ROOT)} lacks these (make translations, then translate):\n"
        + "\n".join(sorted(missing))
    )


def test_the_reader_finds_what_a_page_asks_for(tmp_path: Path):
    """The extraction itself: a plain translate, one with a context, a blocktranslate with
    a variable and a plural, trimmed, and _() in a tag's argument."""
    page = tmp_path / "page.html"
    page.write_text(
        "{% load i18n %}"
        '<a title="{% translate "Pages" %}">{% translate "May" context "month" %}</a>'
        "{% blocktranslate trimmed with n=x count counter=y %}\n  {{ n }} part at 5%\n"
        "{% plural %}{{ n }} parts{% endblocktranslate %}"
        '{% firstof a _("Nothing") %}',
        encoding="utf-8",
    )
    assert template_messages(page) == {
        ("", "Pages"),
        ("month", "May"),
        ("", "%(n)s part at 5%%"),
        ("", "Nothing"),
    }
