"""What "complete" means for a translation catalogue, for `flask translate missing` and the tests.

Every language must translate every message a resident can meet: pages, forms, messages, mails, calendar text, the
offline page and the service worker's sentences. Messages that only staff and coordinators see (sign-in, results,
posters list, mail outbox, /staff, /admin) and the open data API's answers and documentation, which programmers
read, must be in German; the other languages may leave them empty, and then show English (Leichte Sprache shows
German, see busapp/i18n.py). A message counts as staff-only when every place it is used in is staff-only.
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
SOURCE_LANGUAGE = "en"
# Languages that must translate staff and coordinator messages too.
FULL_LANGUAGES = ("de",)
STAFF_ONLY_SOURCES = (
    "busapp/auth.py", "templates/auth/",
    "busapp/feedback/results.py", "templates/feedback/results.html", "templates/feedback/posters.html",
    "busapp/planning/", "templates/planning/", "busapp/checkin/", "templates/checkin/",
    "busapp/mail/views.py", "templates/mail/index.html",
    "busapp/opendata/", "templates/opendata/",
    "busapp/participation/admin.py", "busapp/participation/admin_forms.py", "templates/participation/admin/",
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
