"""Fixed choices shown to people: workshop topics, audiences, languages. Keys are stored, labels translated."""
from __future__ import annotations

from babel import Locale
from flask_babel import get_locale, lazy_gettext as _l

TOPICS = {
    "smartphone_basics": _l("Smartphone basics"),
    "video_calls": _l("Video calls with family"),
    "messengers": _l("Messengers and email"),
    "online_banking": _l("Safe online banking"),
    "fake_news": _l("Spotting fake news"),
    "city_services": _l("The city's online services"),
    "photos": _l("Photos and videos"),
    "passwords": _l("Passwords and privacy"),
    "ai_tools": _l("AI tools in everyday life"),
}

AUDIENCES = {
    "everyone": _l("Everyone"),
    "seniors": _l("Seniors"),
    "families": _l("Families"),
    "newcomers": _l("New in town"),
    "youth": _l("Young people"),
}

LEVELS = {
    "first_steps": _l("First steps: no experience needed"),
    "some_experience": _l("Some experience: you already use a phone or computer"),
}

# Languages a workshop can be held in; names are shown in the visitor's language by Babel.
WORKSHOP_LANGUAGES = ("de", "en", "tr", "ar", "uk", "pl", "fa", "ru")


def topic_label(key: str) -> str:
    return str(TOPICS.get(key, key))


def audience_label(key: str) -> str:
    return str(AUDIENCES.get(key, key))


def level_label(key: str) -> str:
    return str(LEVELS.get(key, key))


def language_label(code: str) -> str:
    """'tr' -> 'Türkisch' for a German visitor, 'Turkish' for an English one."""
    try:
        return Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, TypeError):
        return code


def init_app(app) -> None:
    app.jinja_env.filters["topic"] = topic_label
    app.jinja_env.filters["audience"] = audience_label
    app.jinja_env.filters["level"] = level_label
    app.jinja_env.filters["language_name"] = language_label
