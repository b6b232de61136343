"""Text that people write for residents, in several languages: workshop titles, descriptions and access notes, a
stop's notices (live note, reason for a cancellation, the note on a change told to the people booked), a place's note
for finding the bus and the texts of the course catalogue that new workshops start from.

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
    "Workshop": ("title", "description", "accessibility_notes", "bring", "cancel_reason"),
    "Stop": ("live_note", "cancel_reason", "change_note"),
    "Place": ("finding_note",),
    "Course": ("title", "description", "what_to_bring"),
}
# The texts a row's own form edits; a stop's notices and a cancellation's reason are typed where they are made
# (the live status, the cancel and change forms), each with its own languages.
PLANNED = {
    "Workshop": ("title", "description", "accessibility_notes", "bring"),
    "Place": ("finding_note",),
    "Course": ("title", "description", "what_to_bring"),
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


def set_texts_of(obj, field: str, by_language: dict[str, str] | None) -> None:
    """Give one field exactly these texts in other languages ({tag: text}), dropping the ones it had: a notice
    typed anew must not keep an old notice's translations."""
    if field not in TRANSLATABLE[type(obj).__name__]:
        raise ValueError(f"{type(obj).__name__}.{field} has no translations")
    by_language = {tag: text for tag, text in (by_language or {}).items() if text}
    texts = {k: {n: t for n, t in v.items() if n != field} for k, v in (obj.texts or {}).items()}
    for tag, text in by_language.items():
        texts.setdefault(tag, {})[field] = text
    obj.texts = {k: v for k, v in texts.items() if v}


def texts_of(texts: dict | None, field: str) -> dict[str, str]:
    """One field's texts out of a `texts` value, as {tag: text}."""
    return {tag: entry[field] for tag, entry in (texts or {}).items() if isinstance(entry, dict) and entry.get(field)}


MAX_TEXT = {"title": 160, "description": 2000, "live_note": 200}


def other_languages(own: str | None = None) -> list[str]:
    """The languages a coordinator may add text in: every offered language but the row's own."""
    own = own or (current_app.config["BABEL_DEFAULT_LOCALE"] if has_app_context() else "de")
    return [tag for tag in current_app.config["LANGUAGES"] if tag != own]


def language_rows(own: str | None = None) -> list[tuple[str, str, str]]:
    """(tag, name in that language, HTML lang) of the languages a coordinator may add text in."""
    names = current_app.config["LANGUAGES"]
    return [(tag, names[tag], html_lang(tag)) for tag in other_languages(own)]


def texts_from_form(form, model: str, own: str | None = None, fields: tuple[str, ...] | None = None
                    ) -> tuple[dict, dict]:
    """The per-language fields of a coordinator form (`text-<tag>-<field>`), as a `texts` value, and the errors
    ({"text-tr-title": [...]}) of the ones that are too long. Empty fields leave the language out. `fields` are
    the ones this form has (default: the row's own form's)."""
    from flask_babel import gettext as _

    from .forms import clean_text
    texts: dict = {}
    errors: dict = {}
    for tag in other_languages(own):
        entry = {}
        for name in fields or PLANNED[model]:
            key = f"text-{tag}-{name}"
            value = clean_text(form.get(key))
            limit = MAX_TEXT.get(name, 300)
            if len(value) > limit:
                errors[key] = [_("Please use at most %(max)d characters.", max=limit)]
            if value:
                entry[name] = value
        if entry:
            texts[tag] = entry
    return texts, errors


def init_app(app) -> None:
    app.add_template_filter(text_in, "text")
