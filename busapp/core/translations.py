"""What "complete" means for a translation catalogue, for `flask translate missing` and the tests.

Every language must translate every message a resident can meet: pages, forms, messages, mails, calendar text, the
offline page and the service worker's sentences. Messages that only staff and coordinators see (sign-in, results,
posters list, mail outbox, /staff, /admin) and the open data API's answers and documentation, which programmers
read, must be in German; the other languages may leave them empty, and then show English (Leichte Sprache shows
German, see busapp/core/i18n.py). A message counts as staff-only when every place it is used in is staff-only.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
SOURCE_LANGUAGE = "en"
# Languages that must translate staff and coordinator messages too.
FULL_LANGUAGES = ("de",)
STAFF_ONLY_SOURCES = (
    "busapp/accounts/auth.py", "templates/auth/",
    "busapp/feedback/results.py", "templates/feedback/results.html", "templates/feedback/posters.html",
    "templates/feedback/posters_print.html",
    "busapp/planning/", "templates/planning/", "busapp/checkin/", "templates/checkin/",
    "busapp/mail/views.py", "templates/mail/index.html",
    "busapp/opendata/", "templates/opendata/",
    "busapp/participation/admin.py", "busapp/participation/admin_forms.py", "busapp/participation/codes.py",
    "busapp/participation/moderation.py", "busapp/participation/paper.py",
    "templates/participation/admin/",
)


def catalogue_path(tag: str) -> Path:
    """translations/<catalogue>/LC_MESSAGES/messages.po for a BCP 47 tag ("de-x-ls" -> de@ls)."""
    from .i18n import catalogue_id

    return TRANSLATIONS / catalogue_id(tag) / "LC_MESSAGES" / "messages.po"


def load(tag: str) -> Catalog:
    with catalogue_path(tag).open("rb") as fh:
        return read_po(fh)


def staff_only(message: Message) -> bool:
    """Whether only staff and coordinators ever see this message."""
    return bool(message.locations) and all(path.startswith(STAFF_ONLY_SOURCES) for path, _line in message.locations)


def untranslated(message: Message) -> bool:
    """Empty (in any plural form) or marked fuzzy."""
    if message.fuzzy:
        return True
    strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return not all(strings)


def missing(tag: str) -> list[Message]:
    """The messages this language still has to translate (staff-only ones count only for FULL_LANGUAGES)."""
    full = tag in FULL_LANGUAGES
    return [m for m in load(tag) if m.id and untranslated(m) and (full or not staff_only(m))]


# ------------------------------------------------------------------------------ `flask translate` (wraps pybabel)

translate = AppGroup("translate", help="Translation catalogues (wraps pybabel).")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


@translate.command("extract")
def translate_extract() -> None:
    """Collect translatable strings into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--sort-by-file", "--no-wrap",
             "-o", "translations/messages.pot", ".")


@translate.command("update")
def translate_update() -> None:
    """Extract, then merge new strings into every language's catalogue."""
    translate_extract.callback()
    _pybabel("update", "-i", "translations/messages.pot", "-d", "translations", "--no-wrap", "--no-fuzzy-matching")


@translate.command("init")
@click.argument("lang")
def translate_init(lang: str) -> None:
    """Start a catalogue for a new language."""
    translate_extract.callback()
    _pybabel("init", "-i", "translations/messages.pot", "-d", "translations", "-l", lang, "--no-wrap")


@translate.command("missing")
@click.argument("langs", nargs=-1)
def translate_missing(langs: tuple[str, ...]) -> None:
    """List the messages each language still has to translate (all configured languages when none is named)."""
    from flask import current_app

    tags = langs or [t for t in current_app.config["LANGUAGES"] if t != SOURCE_LANGUAGE]
    total = 0
    for tag in tags:
        messages = missing(tag)
        total += len(messages)
        click.echo(f"# {tag}: {len(messages)} missing")
        for message in messages:
            ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
            click.echo("  " + " | ".join(ids))
    raise SystemExit(1 if total else 0)


@translate.command("compile")
def translate_compile() -> None:
    """Compile catalogues for the running app."""
    _pybabel("compile", "-d", "translations", "--statistics")


def init_app(app) -> None:
    app.cli.add_command(translate)
