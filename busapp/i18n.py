"""Language choice, locale-aware formatting of dates and times, and the language switch."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from babel.dates import format_skeleton
from flask_babel import format_date, format_datetime, format_time, get_locale, to_user_timezone

from .extensions import babel

bp = Blueprint("i18n", __name__)

LANG_PARAM = "lang"


def select_locale() -> str:
    """?lang= first (shareable links), then the remembered choice, then the browser's languages, then German."""
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get(LANG_PARAM, "")
    if asked in languages:
        return asked
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(list(languages)) or current_app.config["BABEL_DEFAULT_LOCALE"]


def text_direction() -> str:
    return "rtl" if str(get_locale()).split("_")[0] in current_app.config["RTL_LANGUAGES"] else "ltr"


def _safe_next(target: str | None) -> str:
    """Only same-site paths may be redirect targets."""
    if not target:
        return url_for("schedule.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("schedule.index")
    return target


@bp.post("/language")
def switch():
    """Remember the chosen language and go back to the page the visitor was on."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        session.permanent = True
    return redirect(_safe_next(request.form.get("next")), code=303)


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["TIMEZONE"])
    app.register_blueprint(bp)

    @app.template_filter("date")
    def _date(value: datetime, fmt: str = "full") -> str:
        return format_date(value, fmt)

    @app.template_filter("time")
    def _time(value: datetime, fmt: str = "short") -> str:
        return format_time(value, fmt)

    @app.template_filter("datetime")
    def _datetime(value: datetime, fmt: str = "medium") -> str:
        return format_datetime(value, fmt)

    @app.template_filter("weekday_date")
    def _weekday_date(value: datetime) -> str:
        # "Donnerstag, 26. November" / "Thursday, November 26", in each locale's own order
        return format_skeleton("EEEEMMMMd", to_user_timezone(value), locale=get_locale())

    @app.context_processor
    def i18n_context():
        return {
            "current_locale": str(get_locale()),
            "text_direction": text_direction(),
            "languages": app.config["LANGUAGES"],
        }
