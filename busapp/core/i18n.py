"""Language choice, locale-aware formatting of dates and times, and the language switch.

Languages are named by BCP 47 tags everywhere people and browsers see them (`?lang=`, `hreflang`, the picker, the
LANGUAGES setting); Babel's catalogues have their own identifiers. The two differ only for private-use tags:
Leichte Sprache is `de-x-ls` to the outside and the catalogue `de@ls` inside; the page itself says `lang="de"`.
A message missing in a catalogue with such a modifier comes from the base language's catalogue (German), never
from the English source.

The picker in the page header lists plain links to the page itself: `?lang=xx&remember=1`. Only such a link stores
the choice in the session (and so sets a cookie), then sends the visitor back to the clean address. A bare `?lang=xx`
is a shareable link in that language that changes nobody's choice, but holds for the visit: the links and forms of
resident pages carry it on (carry_language), and a booking's pages open in the booking's language. Public pages
therefore carry nothing personal (no form token) and set no cookie for a first-time visitor, which lets them be
cached.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from babel import Locale
from babel.dates import (
    DateTimePattern, format_date as babel_format_date, get_date_format, get_time_format, match_skeleton,
    parse_pattern,
)
from markupsafe import Markup
from flask import current_app, g, has_app_context, has_request_context, redirect, request, session, url_for
from babel.support import Translations
from flask_babel import (
    Domain, format_date, format_datetime, format_time, get_locale, get_translations, refresh as flask_babel_refresh,
)
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from ..domain import links, town
from .extensions import babel

LANG_PARAM = "lang"
# Sent by the header's language switch beside `lang`: remember the choice, not just show this page in it.
REMEMBER_PARAM = "remember"
# Named formats the filters look up themselves; time formats with a zone name ("long", "full") go to flask-babel.
DATE_FORMATS = ("short", "medium", "long", "full")
TIME_FORMATS = ("short", "medium")


def catalogue_id(tag: str) -> str:
    """A BCP 47 tag as Babel's locale identifier: "de-x-ls" -> "de@ls", "pt-BR" -> "pt_BR"."""
    base, _sep, private = tag.partition("-x-")
    return base.replace("-", "_") + (f"@{private}" if private else "")


def language_tag(locale) -> str:
    """Babel's locale (or its identifier) as the BCP 47 tag: "de@ls" -> "de-x-ls", the reverse of catalogue_id."""
    ident = str(locale)
    base, _sep, modifier = ident.partition("@")
    return base.replace("_", "-") + (f"-x-{modifier}" if modifier else "")


def html_lang(tag: str) -> str:
    """What <html lang> says: the tag without its private part ("de-x-ls" is German text to a screen reader)."""
    return tag.partition("-x-")[0]


def current_tag() -> str:
    """The visitor's language as a BCP 47 tag."""
    return language_tag(get_locale())


class FallbackDomain(Domain):
    """Flask-Babel's domain, with the base language's catalogue behind a catalogue with a modifier (de@ls -> de).

    A page asks for a translation dozens of times; Flask-Babel finds the catalogue anew each time (its request
    namespace, the locale, the locale's name as a string, the cache), so the catalogue found is kept in the request's
    namespace beside the locale it belongs to: a new locale (refresh(), force_locale()) finds its own."""

    def get_translations(self):
        ctx = _babel_namespace()
        if ctx is None:
            return self._with_fallback(super().get_translations())
        kept = ctx.__dict__.get(_KEPT)
        if kept is not None and kept[0] is ctx.__dict__.get("babel_locale"):
            return kept[1]
        translations = self._with_fallback(super().get_translations())
        ctx.__dict__[_KEPT] = (get_locale(), translations)
        return translations

    def _with_fallback(self, translations):
        locale = get_locale()
        if locale is None or not locale.modifier or getattr(translations, "base_added", False):
            return translations
        base = Locale(locale.language, locale.territory, locale.script)
        for dirname in self.translation_directories:
            fallback = Translations.load(dirname, [base], self.domain[0])
            if isinstance(fallback, Translations):
                translations.add_fallback(fallback)
        translations.base_added = True
        return translations


_KEPT = "busapp_translations"


def _template_translations():
    """The catalogue a template's _() uses: the one kept for the request and its locale, else Flask-Babel's way."""
    ctx = _babel_namespace()
    if ctx is not None:
        kept = ctx.__dict__.get(_KEPT)
        if kept is not None and kept[0] is ctx.__dict__.get("babel_locale") and kept[0] is not None:
            return kept[1]
    return get_translations()


def _babel_namespace():
    """Flask-Babel's per-request namespace (where it keeps the request's locale), or None outside a request."""
    return g.__dict__.get("_flask_babel") if has_app_context() else None


class _FormTranslations:
    """WTForms' own messages ("Not a valid choice.") in the page's language. Flask-WTF reads their catalogue from
    disk once per request that shows one; this keeps one catalogue per language for the process."""

    def ugettext(self, string):
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ungettext(self, singular, plural, n):
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


@lru_cache(maxsize=64)
def _wtforms_catalogue(locale_id: str):
    from wtforms.i18n import messages_path

    return Translations.load(messages_path(), [Locale.parse(locale_id)], domain="wtforms")


_FORM_TRANSLATIONS = _FormTranslations()


def asked_language(query: str, config) -> str | None:
    """The language a link asks for with ?lang=, if it is one of ours."""
    asked = next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == LANG_PARAM), "") if query else ""
    return asked if asked in config["LANGUAGES"] else None


def locale_for_request_parts(query: str, remembered: str | None, accept_language: str | None, config,
                             preferred: str | None = None) -> str:
    """?lang= first (shareable links), then the remembered choice, then the language of what the page is about (a
    booking made in Arabic opens in Arabic), then the browser's languages, then German.

    From the raw query string and header, so the page cache (busapp/core/pagecache.py) can tell a page's language before
    the app runs, by the very same rule (the cached pages have no `preferred`)."""
    languages = config["LANGUAGES"]
    asked = asked_language(query, config)
    if asked:
        return asked
    if remembered in languages:
        return remembered
    if preferred in languages:
        return preferred
    if accept_language:
        best = parse_accept_header(accept_language, LanguageAccept).best_match(list(languages))
        if best:
            return best
    return config["BABEL_DEFAULT_LOCALE"]


def select_locale() -> str:
    """The visitor's language, as Babel's identifier: see locale_for_request_parts."""
    if not has_request_context():
        # Commands and background work (reminder mails) format text outside any request.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return catalogue_id(locale_for_request_parts(request.query_string.decode("latin-1"), session.get("lang"),
                                                 request.headers.get("Accept-Language"), current_app.config,
                                                 g.get(_PREFERRED)))


_PREFERRED = "busapp_i18n_preferred"
# Pages a resident moves between: a language asked for with ?lang= (or the booking's own language on its ticket)
# travels in their links, so the choice holds for the visit without a cookie. Staff pages and files do not carry it.
CARRYING_BLUEPRINTS = frozenset({"schedule", "booking", "feedback", "pages", "participation"})


def prefer_language(locale_id: str | None) -> None:
    """This page is about something in a language of its own (a booking remembers the language it was made in):
    show it in that language unless the visitor asked for another (?lang=) or chose one with the picker."""
    tag = language_tag(locale_id) if locale_id else None
    if tag and tag in current_app.config["LANGUAGES"] and g.get(_PREFERRED) != tag:
        g.setdefault(_PREFERRED, tag)
        flask_babel_refresh()


def carried_language() -> str | None:
    """The language this page's links and forms carry: the one asked for in the address, else the one the page
    took from what it shows (a booking's) where the visitor would otherwise get another; None for the usual one."""
    if not has_request_context():
        return None
    # Every link on a page asks (url_defaults): the answer is kept for the request, beside what it depends on that
    # can change while the page is made (the language the page took from what it shows, the locale).
    preferred = g.get(_PREFERRED)
    locale = get_locale()
    kept = g.get(_CARRIED)
    if kept is not None and kept[0] == preferred and kept[1] is locale:
        return kept[2]
    tag = _carried(preferred, locale)
    g.setdefault(_CARRIED, None)
    setattr(g, _CARRIED, (preferred, locale, tag))
    return tag


_CARRIED = "busapp_i18n_carried"


def _carried(preferred: str | None, locale) -> str | None:
    asked = asked_language(request.query_string.decode("latin-1"), current_app.config)
    if asked:
        return asked
    if not preferred or preferred != language_tag(locale):
        return None
    usual = locale_for_request_parts("", session.get("lang"), request.headers.get("Accept-Language"),
                                     current_app.config)
    return preferred if preferred != usual else None


def carry_language(endpoint: str, values: dict) -> None:
    """url_defaults: links to resident pages keep the language the page was opened in (see carried_language)."""
    if LANG_PARAM in values or endpoint.partition(".")[0] not in CARRYING_BLUEPRINTS:
        return
    tag = carried_language()
    if tag:
        values[LANG_PARAM] = tag


def direction_of(locale) -> str:
    """"rtl" for right-to-left languages, else "ltr"."""
    return "rtl" if str(locale).split("_")[0].split("@")[0] in current_app.config["RTL_LANGUAGES"] else "ltr"


def text_direction() -> str:
    """"rtl" for right-to-left languages, else "ltr", for <html dir>."""
    return direction_of(get_locale())


def alternates() -> list[tuple[str, str]]:
    """(hreflang, absolute URL) of this page in every language, and "x-default" for the address without ?lang=.

    On the configured public address, like every absolute link, and with only the page's known parameters."""
    path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
    base = links.absolute(path)
    query = urlencode(page_query())
    found = [(tag, f"{base}?{query + '&' if query else ''}{LANG_PARAM}={tag}") for tag in current_app.config["LANGUAGES"]]
    found.append(("x-default", f"{base}?{query}" if query else base))
    return found


def safe_next(target: str | None) -> str:
    """Only same-site paths may be redirect targets; anything else goes to the schedule."""
    if not target or len(target) > 2000:
        return url_for("schedule.index")
    # Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil.example" or "/\t/evil.example"
    # would leave the site; such characters have no place in our own paths.
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return url_for("schedule.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("schedule.index")
    if LANG_PARAM in dict(parse_qsl(parts.query, keep_blank_values=True)):
        # A ?lang= in the page address outranks the session and would undo the switch just made.
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LANG_PARAM]
        return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))
    return target


def _widen(pattern: str) -> str:
    """Spell out weekday and month in a CLDR pattern ("E, MMM d" -> "EEEE, MMMM d"), leaving quoted text alone."""
    parts = pattern.split("'")
    for i in range(0, len(parts), 2):  # even parts lie outside quotes
        parts[i] = re.sub(r"(?<!E)E{1,3}(?!E)", "EEEE", parts[i])
        parts[i] = re.sub(r"(?<!c)c{3}(?!c)", "cccc", parts[i])  # the stand-alone weekday (Russian: "ср" -> "среда")
        parts[i] = re.sub(r"(?<![ML])([ML])\1{2}(?![ML])", r"\1\1\1\1", parts[i])
    return "'".join(parts)


def local_time(value: datetime) -> datetime:
    """A stored (UTC) time as the city's wall-clock time; naive values count as UTC, as in flask-babel."""
    return town.local(value)


@lru_cache(maxsize=64)
def _weekday_pattern(locale: Locale) -> str:
    # Matching a skeleton walks all of the locale's patterns: done once per locale, not once per date shown.
    skeletons = locale.datetime_skeletons
    # Babel picks the nearest pattern but, unlike ICU, keeps that pattern's field widths ("Do." for "Donnerstag").
    return _widen(skeletons[match_skeleton("MMMMEEEEd", skeletons)].pattern)


@lru_cache(maxsize=64)
def _named_pattern(locale: Locale, kind: str, fmt: str) -> DateTimePattern:
    if kind == "date":
        return get_date_format(fmt, locale)
    pattern = get_time_format(fmt, locale)
    if locale.modifier == "ls":
        # Leichte Sprache writes a time with "Uhr" ("10:00 Uhr"), as its rules ask; the offline scripts get the
        # same pattern (script_dates), so they write it too.
        return parse_pattern(pattern.pattern + " 'Uhr'")
    return pattern


def date_filter(value: datetime | date, fmt: str = "full") -> str:
    """|date: the city's calendar day in a named locale format (others go to flask-babel)."""
    if fmt not in DATE_FORMATS:
        return format_date(value, fmt)
    locale = get_locale()
    day = local_time(value).date() if isinstance(value, datetime) else value
    return _named_pattern(locale, "date", fmt).apply(day, locale)


def time_filter(value: datetime, fmt: str = "short") -> str:
    """|time: the city's wall-clock time; the pattern is looked up once per locale, as a page shows dozens."""
    if fmt not in TIME_FORMATS:
        return format_time(value, fmt)
    locale = get_locale()
    return _named_pattern(locale, "time", fmt).apply(local_time(value), locale)


def weekday_date(value: datetime | date) -> str:
    """Weekday, day and month in the locale's own order: "Donnerstag, 26. November" / "Thursday, November 26"."""
    locale = get_locale()
    day = local_time(value).date() if isinstance(value, datetime) else value
    return babel_format_date(day, _weekday_pattern(locale), locale=locale)


def weekday_at(value: datetime, end: datetime | None = None) -> str:
    """Weekday, date and time (or "start–end"), joined as the locale joins a date and a time: "Dienstag, 8. Dezember,
    10:00", "الثلاثاء، 8 ديسمبر، 10:00 ص" (an Arabic comma, not a Latin one written into a template)."""
    locale = get_locale()
    time = time_filter(value) + (f"–{time_filter(end)}" if end is not None else "")
    return locale.datetime_formats["medium"].replace("{1}", weekday_date(value)).replace("{0}", time)


def script_dates(locale) -> dict:
    """What the offline scripts need to write a date and time exactly as weekday_at does (same CLDR patterns and
    names, Gregorian calendar, Latin digits), instead of the browser's own idea (Persian dates in the Solar Hijri
    calendar, Arabic as 2026/12/07)."""
    periods = locale.day_periods["format"]["abbreviated"]
    return {
        "date": _weekday_pattern(locale),
        "time": _named_pattern(locale, "time", "short").pattern,
        "join": locale.datetime_formats["medium"],
        "weekdays": [locale.days["format"]["wide"][i] for i in range(7)],  # Monday first, as Python counts
        "weekdaysAlone": [locale.days["stand-alone"]["wide"][i] for i in range(7)],
        "months": [locale.months["format"]["wide"][i] for i in range(1, 13)],
        "monthsAlone": [locale.months["stand-alone"]["wide"][i] for i in range(1, 13)],
        "ampm": [periods["am"], periods["pm"]],
    }


def comma() -> str:
    """The language's comma between two parts of a line ("Rathaus, Altstadt"; Arabic and Persian "، ")."""
    return "، " if get_locale().language in ARABIC_SCRIPT else ", "


# Languages written in Arabic script, whose comma is "،" (CLDR has no plain "comma" to look up).
ARABIC_SCRIPT = frozenset({"ar", "fa", "ur", "ps", "ckb"})


_JSON_IN_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def json_text(value) -> Markup:
    """Sentences as JSON for a page's attribute or script (`|json_text`): letters as they are in UTF-8, not as
    \\uXXXX escapes as |tojson writes them, which makes Cyrillic and Arabic three times as long; the characters that
    could end an attribute or a tag are escaped as |tojson does."""
    return Markup(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).translate(_JSON_IN_HTML))


def use_24_hour_clock_in_english() -> None:
    """English pages of a German public service give times on the 24-hour clock ("14:30", not "2:30 PM"): the
    English locale's time patterns become CLDR's 24-hour ones (those of en_GB), for every formatter at once."""
    from babel import localedata

    localedata.load("en")["time_formats"] = localedata.load("en_GB")["time_formats"]
    _named_pattern.cache_clear()


def _without_switch_params(query: str) -> str:
    """The query string minus `lang` and `remember`, the other parameters kept exactly as they were sent."""
    kept = [part for part in query.split("&")
            if part and dict(parse_qsl(part, keep_blank_values=True)).keys().isdisjoint((LANG_PARAM, REMEMBER_PARAM))]
    return "&".join(kept)


# Query parameters a page reads, carried through the language switch; nothing else a visitor (or a crafted link)
# puts in the address is echoed into the page, and each value only up to PAGE_QUERY_MAX characters.
PAGE_QUERY = ("district", "start", "end", "next", "mm")
PAGE_QUERY_MAX = 300


def page_query() -> list[tuple[str, str]]:
    """The known parameters of this page's address, once each, for the language switch's hidden fields."""
    return [(key, request.args[key]) for key in PAGE_QUERY
            if key in request.args and len(request.args[key]) <= PAGE_QUERY_MAX]


def language_switch_url(tag: str) -> str:
    """The header picker's link: this page, its known parameters, and `lang=<tag>&remember=1`."""
    # Every page header lists all languages: the page's own part of the link is made once per request.
    head = g.get(_SWITCH_HEAD)
    if head is None:
        path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
        query = urlencode(page_query())
        head = f"{path}?{query + '&' if query else ''}"
        setattr(g, _SWITCH_HEAD, head)
    return f"{head}{urlencode([(LANG_PARAM, tag), (REMEMBER_PARAM, '1')])}"


_SWITCH_HEAD = "busapp_i18n_switch_head"


def remember_switch():
    """The language switch (GET ?lang=xx&remember=1): store the choice and go back to the same page without them."""
    if request.method != "GET" or REMEMBER_PARAM not in request.args:
        return None
    lang = request.args.get(LANG_PARAM, "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        session.permanent = True
    query = _without_switch_params(request.query_string.decode("latin-1"))
    path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
    return redirect(safe_next(f"{path}?{query}" if query else path), code=303)


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["TIMEZONE"])
    babel.domain_instance = FallbackDomain()  # replaces the plain Domain that Flask-Babel would make
    # Templates translate dozens of strings per page: they go straight to the request's kept catalogue (see
    # FallbackDomain) instead of asking Flask-Babel for the domain and its namespace each time.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _template_translations().ugettext(s),
        ngettext=lambda s, p, n: _template_translations().ungettext(s, p, n),
        pgettext=lambda c, s: _template_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _template_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.before_request(remember_switch)

    @app.before_request
    def form_messages():
        # Read by Flask-WTF in place of the catalogue it would load from disk (see _FormTranslations).
        request.wtforms_translations = _FORM_TRANSLATIONS
    app.url_defaults(carry_language)

    app.add_template_filter(date_filter, "date")
    app.add_template_filter(time_filter, "time")

    @app.template_filter("datetime")
    def _datetime(value: datetime, fmt: str = "medium") -> str:
        return format_datetime(value, fmt)

    app.add_template_filter(weekday_date, "weekday_date")
    app.add_template_filter(weekday_at, "weekday_at")
    app.add_template_filter(json_text, "json_text")
    app.jinja_env.globals["comma"] = comma  # a global, so macros imported without context have it too
    use_24_hour_clock_in_english()

    @app.context_processor
    def i18n_context():
        tag = current_tag()
        return {
            "current_locale": html_lang(tag),
            "current_lang": tag,
            "text_direction": text_direction(),
            "languages": app.config["LANGUAGES"],
            "lang_alternates": alternates,
            "html_lang": html_lang,
            "page_query": page_query,
            "carried_language": carried_language,
            "language_switch_url": language_switch_url,
        }
