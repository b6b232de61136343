"""Public pages and calendar feeds of the tour schedule."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _, get_locale

from ..htmx import render
from ..models import District, utcnow
from . import bp, display, queries
from .calendar import calendar_response, stops_calendar, webcal_url

display.register(bp)
bp.add_app_template_global(webcal_url)

ALL = "all"
# The whole tour is long for a phone on a weak signal; the home list shows two weeks, a district all its dates.
HOME_SPAN_DAYS = 14


def _not_found(title: str, message: str):
    """A 404 in the visitor's language that points on to the districts, so a mistyped poster URL is no dead end."""
    districts = queries.all_districts()
    return render_template("schedule/not_found.html", title=title, message=message, districts=districts), 404


def _district_not_found():
    return _not_found(
        _("We do not know this district"),
        _("Please check the address, or choose your district from the list."),
    )


def _stop_not_found():
    return _not_found(
        _("We cannot find this stop"),
        _("It may have been removed. The current tour schedule is on the start page."),
    )


def _calendar_lang() -> dict:
    """Keep the visitor's language in feed links, since calendar apps send no cookie and no useful language."""
    locale = str(get_locale())
    return {"lang": locale} if locale != current_app.config["BABEL_DEFAULT_LOCALE"] else {}


def _kept_args() -> dict:
    """The one query parameter worth carrying over a redirect (other names could clash with url_for's own)."""
    lang = request.args.get("lang", "")
    return {"lang": lang} if lang in current_app.config["LANGUAGES"] else {}


def _district_filter(districts: list[District]) -> tuple[District | None, bool]:
    """The district chosen in ?district=, and whether an unknown value was asked for (then all stops are shown)."""
    raw = request.args.get("district", "").strip()
    if raw in ("", ALL):
        return None, False
    for district in districts:
        if raw == district.slug:
            return district, False
    return None, True


@bp.get("/")
def index():
    """Home: where the bus is now or next, then upcoming stops by day, filterable by district."""
    now = utcnow()
    districts = queries.all_districts()
    chosen, unknown_filter = _district_filter(districts)
    span = None if chosen else timedelta(days=HOME_SPAN_DAYS)
    stops = queries.upcoming_stops(now, chosen, within=span)
    return render(
        "schedule/index.html",
        "schedule/_stops.html",
        now=now,
        districts=districts,
        chosen=chosen,
        unknown_filter=unknown_filter,
        stops=stops,
        current=queries.current_or_next_stop(now),
        show_district=chosen is None,
        span_days=HOME_SPAN_DAYS if span else None,
        calendar_lang=_calendar_lang(),
    )


@bp.get("/d/<slug>")
def district(slug: str):
    """A district's upcoming stops, at a short address fit for a poster (/d/07 leads here too)."""
    found = queries.find_district(slug)
    if found is None:
        return _district_not_found()
    if slug != found.slug:
        return redirect(url_for("schedule.district", slug=found.slug, **_kept_args()), code=301)
    now = utcnow()
    return render(
        "schedule/district.html",
        "schedule/_stops.html",
        now=now,
        district=found,
        stops=queries.upcoming_stops(now, found),
        show_district=False,
        calendar_lang=_calendar_lang(),
    )


@bp.get("/s/<int:stop_id>")
def stop(stop_id: int):
    """One stop: place, time, live status and its workshops; the live status alone for htmx polling."""
    found = queries.public_stop(stop_id)
    if found is None:
        return _stop_not_found()
    return render("schedule/stop.html", "schedule/_live.html", now=utcnow(), stop=found,
                  calendar_lang=_calendar_lang())


@bp.get("/s/<int:stop_id>.ics")
def stop_ics(stop_id: int):
    """One stop as a calendar file, with its workshops in the description."""
    found = queries.public_stop(stop_id)
    if found is None:
        return _stop_not_found()
    cal = stops_calendar([found], found.place.name, f"stop-{found.id}-calendar", feed=False)
    return calendar_response(cal, f"digitalbus-{found.id}.ics", attachment=True)


@bp.get("/d/<slug>.ics")
def district_ics(slug: str):
    """A subscribable feed of every stop in one district."""
    found = queries.find_district(slug)
    if found is None:
        return _district_not_found()
    if slug != found.slug:
        return redirect(url_for("schedule.district_ics", slug=found.slug, **_kept_args()), code=301)
    name = _("Digital workshop bus in %(district)s", district=found.name)
    cal = stops_calendar(queries.feed_stops(utcnow(), found), name, f"district-{found.slug}")
    return calendar_response(cal, f"digitalbus-{found.slug}.ics")


@bp.get("/tour.ics")
def tour_ics():
    """A subscribable feed of the whole tour."""
    name = _("Digital workshop bus: all stops")
    cal = stops_calendar(queries.feed_stops(utcnow()), name, "tour")
    return calendar_response(cal, "digitalbus-tour.ics")
