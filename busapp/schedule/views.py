"""Public pages and calendar feeds of the tour schedule."""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _, get_locale

from ..core.htmx import render
from ..core.i18n import language_tag
from ..models import District, utcnow
from . import bp, display, feeds, queries
from .calendar import absolute_url, calendar_answer, render_stops, uid_domain, webcal_url

display.register(bp)
bp.add_app_template_global(webcal_url)

ALL = "all"
# The whole tour is long for a phone on a weak signal; the home list shows two weeks, a district a few weeks at a
# time (SCHEDULE_WINDOW_DAYS), both paging on from there.
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
    tag = language_tag(get_locale())
    return {"lang": tag} if tag != current_app.config["BABEL_DEFAULT_LOCALE"] else {}


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


def _page(now, days: int, district: District | None, link_args: dict | None = None) -> dict:
    """One page of a stop list as asked for in ?from= or ?before=, with the links to the pages around it."""
    start = queries.PageKey.parse(request.args.get("from"))
    end = None if start else queries.PageKey.parse(request.args.get("before"))
    page = queries.stop_page(now, days, current_app.config["SCHEDULE_PAGE_SIZE"], district, start=start, end=end,
                             skip_empty=district is not None)
    values = {**(request.view_args or {}), **_kept_args(), **(link_args or {})}

    def link(**key) -> str:
        return url_for(request.endpoint, **values, **{k: str(v) for k, v in key.items()})

    return {
        "listing": page,
        "stops": page.stops,
        "later_url": link(**{"from": page.later}) if page.later else None,
        "earlier_url": link(before=page.earlier) if page.earlier else None,
        "upcoming_url": None if page.current else link(),
    }


def _where_the_buses_are(now) -> list:
    """Where the bus is now or goes next; with several buses, each one's (one statement per bus)."""
    from ..planning import buses

    names = buses.names()
    found = [queries.current_or_next_stop(now, bus_id) for bus_id in names] if len(names) > 1 else [
        queries.current_or_next_stop(now)]
    return sorted((s for s in found if s is not None), key=lambda s: s.starts_at)


@bp.get("/")
def index():
    """Home: where the bus is now or next, then the next two weeks of stops by day, filterable by district."""
    now = utcnow()
    districts = queries.all_districts()
    chosen, unknown_filter = _district_filter(districts)
    days = current_app.config["SCHEDULE_WINDOW_DAYS"] if chosen else HOME_SPAN_DAYS
    listing = _page(now, days, chosen, {"district": chosen.slug} if chosen else None)
    return render(
        "schedule/index.html",
        "schedule/_stops.html",
        now=now,
        districts=districts,
        chosen=chosen,
        unknown_filter=unknown_filter,
        currents=_where_the_buses_are(now),
        show_district=chosen is None,
        span_days=None if chosen or not listing["listing"].current else HOME_SPAN_DAYS,
        calendar_lang=_calendar_lang(),
        **listing,
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
        show_district=False,
        calendar_lang=_calendar_lang(),
        **_page(now, current_app.config["SCHEDULE_WINDOW_DAYS"], found),
    )


@bp.get("/s/<int:stop_id>")
def stop(stop_id: int):
    """One stop: place, time, live status and its workshops; the live status alone for htmx polling."""
    found = queries.public_stop(stop_id)
    if found is None:
        return _stop_not_found()
    return render("schedule/stop.html", "schedule/_live.html", now=utcnow(), stop=found,
                  calendar_lang=_calendar_lang())


def _feed_context() -> tuple:
    """What else a calendar answer depends on: its language and the address its links and UIDs name."""
    return (str(get_locale()), uid_domain(), absolute_url("schedule.tour_ics"))


@bp.get("/s/<int:stop_id>.ics")
def stop_ics(stop_id: int):
    """One stop as a calendar file, with its workshops in the description."""
    found = feeds.stop_file(stop_id, _feed_context())
    if found is None:
        return _stop_not_found()

    def make() -> bytes:
        return render_stops(*feeds.stop_rows(found.id), found.place, f"stop-{found.id}-calendar", feed=False)

    return calendar_answer(found.version, make, f"digitalbus-{found.id}.ics", attachment=True)


@bp.get("/d/<slug>.ics")
def district_ics(slug: str):
    """A subscribable feed of one district's stops, from FEED_PAST_DAYS ago to FEED_FUTURE_DAYS ahead."""
    window = feeds.Window.today(utcnow())
    found = feeds.district_feed(slug, window, _feed_context())
    if found is None:
        return _district_not_found()
    if slug != found.slug:
        return redirect(url_for("schedule.district_ics", slug=found.slug, **_kept_args()), code=301)

    def make() -> bytes:
        name = _("Digital workshop bus in %(district)s", district=found.name)
        return render_stops(*feeds.feed_rows(window, found.id), name, f"district-{found.slug}", feed=True)

    return calendar_answer(found.version, make, f"digitalbus-{found.slug}.ics")


@bp.get("/tour.ics")
def tour_ics():
    """A subscribable feed of the whole tour, from FEED_PAST_DAYS ago to FEED_FUTURE_DAYS ahead."""
    window = feeds.Window.today(utcnow())
    version = feeds.tour_version(window, _feed_context())

    def make() -> bytes:
        return render_stops(*feeds.feed_rows(window), _("Digital workshop bus: all stops"), "tour", feed=True)

    return calendar_answer(version, make, "digitalbus-tour.ics")
