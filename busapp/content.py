"""Text that people write for residents, in several languages: workshop titles, descriptions and access notes, a
stop's notices (live note, reason for a cancellation) and a place's note for finding the bus.

The model is small on purpose. Each row keeps its text in its own columns, written in the row's own language (a
workshop's `language`, German for a stop or place), and a JSON column `texts` with the other languages:
`{"en": {"title": "...", "description": "..."}, "tr": {"title": "..."}}`, keyed by BCP 47 tag. A page shows the
visitor's language, else German, else the row's own text, and says which language it picked, so the template can
mark it with `lang` when it differs from the page.
"""
from __future__ import annotations

from flask import current_app, has_app_context

from .i18n import current_tag, direction_of, html_lang

# The columns that may carry other languages, per model.
TRANSLATABLE = {
    "Workshop": ("title", "description", "accessibility_notes", "bring"),
    "Stop": ("live_note", "cancel_reason"),
    "Place": ("finding_note",),
}


class Text(str):
    """A piece of written text, the language it is in (`lang`, for an HTML lang attribute) and its direction
    (`dir`: German text on an Arabic page stays left to right, full stop and all)."""

    lang: str
    dir: str

    def __new__(cls, value: str, lang: str) -> "Text":
        text = super().__new__(cls, value)
        text.lang = lang
        text.dir = direction_of(lang) if has_app_context() else "ltr"
        return text


def own_language(obj) -> str:
    """The language of a row's own columns: a workshop's language, else the default language."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"] if has_app_context() else "de"
    return getattr(obj, "language", None) or default


def choices(tag: str) -> list[str]:
    """The languages to try, best first: the visitor's, its base language (Leichte Sprache -> German), German."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"] if has_app_context() else "de"
    order = [tag, html_lang(tag), default]
    return list(dict.fromkeys(order))


def text_in(obj, field: str, tag: str | None = None) -> Text:
    """The field's text in the visitor's language (or `tag`), else German, else the row's own text."""
    if field not in TRANSLATABLE.get(type(obj).__name__, ()):
        raise ValueError(f"{type(obj).__name__}.{field} has no translations")
    return text_of(getattr(obj, field), getattr(obj, "texts", None), own_language(obj), field, tag)


def text_of(base: str | None, texts: dict | None, own: str, field: str, tag: str | None = None) -> Text:
    """As text_in, from a row's plain values (its own text, its `texts` column and its own language), for pages
    and feeds that read rows rather than objects."""
    base = base or ""
    texts = texts or {}
    for lang in choices(tag or current_tag()):
        if lang == own and base:
            return Text(base, html_lang(own))
        value = (texts.get(lang) or {}).get(field)
        if value:
            return Text(value, html_lang(lang))
    return Text(base, html_lang(own))


def set_text(obj, lang: str, **fields: str) -> None:
    """Store text in another language; an empty value removes it (the JSON column is replaced, so it is saved)."""
    allowed = TRANSLATABLE[type(obj).__name__]
    texts = {k: dict(v) for k, v in (obj.texts or {}).items()}
    entry = texts.setdefault(lang, {})
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"{type(obj).__name__}.{name} has no translations")
        if value:
            entry[name] = value
        else:
            entry.pop(name, None)
    obj.texts = {k: v for k, v in texts.items() if v}


def init_app(app) -> None:
    app.add_template_filter(text_in, "text")
