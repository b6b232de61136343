"""The coordinators' calendar: the whole tour as a feed that Outlook or Thunderbird subscribes to through a secret,
revocable address (/plan/<secret>.ics), set up at /admin/calendar.

The rules
    Each coordinator has at most one address. Making it again ("renew") gives a new secret at once and the old
    address stops working; deleting it ("revoke") stops it too. An address works only while its coordinator's account
    is active and still a coordinator's; any other secret is a plain 404 that says nothing about why. Anyone who
    has the address sees what coordinators see of the tour, drafts and cancelled stops included, so the feed holds no
    personal data: places, times, workshops with their seats taken, never a name or a phone number. The secret is
    stored as it is, so that the page can show the address again: whoever can read the database can read the tour
    itself, and the address gives no more than that.

What the feed holds
    Every stop (draft, published, cancelled) that starts between FEED_PAST_DAYS before today and FEED_FUTURE_DAYS
    after it, at most MAX_EVENTS of them, the earliest first, in the language the address was made in. A draft is
    TENTATIVE and says "Draft" in its title, a cancelled stop is CANCELLED and says so with its reason; each event
    links to the stop's planning page. The answer carries an ETag, so a calendar app polling an unchanged tour gets a
    304; when the feed was last fetched is noted at most once an hour (the page shows it).
"""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_babel import force_locale, get_locale, gettext as _
from flask_login import current_user

from ..accounts.auth import role_required
from ..core.extensions import db
from ..domain import links, town
from ..models import Bus, CalendarLink, District, Place, Role, Stop, StopStatus, User, Workshop, WorkshopStatus, \
    audit, utcnow
from ..schedule.calendar import (
    PRODID, Version, calendar_answer, escape_text, fold_line, uid_domain, utc_text, vtimezone_text,
)
from . import bp, writes

MAX_EVENTS = 10_000
TOUCH_EVERY = timedelta(hours=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

feed_bp = Blueprint("planfeed", __name__)


# ---------------------------------------------------------------------------------------------------------------
# The address

def link_of(user: User) -> CalendarLink | None:
    """The coordinator's calendar address, or None."""
    return db.session.scalar(sa.select(CalendarLink).where(CalendarLink.user_id == user.id))


def renew(user: User, locale: str) -> CalendarLink:
    """Make the coordinator's address, or replace its secret (the old address stops working at once)."""
    writes.lock()
    link = db.session.scalar(sa.select(CalendarLink).where(CalendarLink.user_id == user.id))
    if link is None:
        link = CalendarLink(user_id=user.id)
        db.session.add(link)
    link.token, link.locale = secrets.token_urlsafe(32), locale[:8]
    link.created_at, link.last_used_at = utcnow(), None
    audit("calendar-link-renew", None, user=writes.user_in_session(user))
    db.session.commit()
    return link


def revoke(user: User) -> bool:
    """Delete the coordinator's address; True when there was one."""
    writes.lock()
    gone = db.session.execute(sa.delete(CalendarLink).where(CalendarLink.user_id == user.id)).rowcount
    if gone:
        audit("calendar-link-revoke", None, user=writes.user_in_session(user))
    db.session.commit()
    return bool(gone)


def valid_link(token: str) -> CalendarLink | None:
    """The address a secret opens: only while its coordinator may sign in and is a coordinator."""
    if not _TOKEN.match(token or ""):
        return None
    return db.session.scalar(
        sa.select(CalendarLink).join(User, User.id == CalendarLink.user_id)
        .where(CalendarLink.token == token, User.active.is_(True), User.role == Role.COORDINATOR))


def feed_url(link: CalendarLink) -> str:
    """The address to give a calendar app, on the public host."""
    return links.absolute_url("planfeed.feed", token=link.token)


def webcal_url(link: CalendarLink) -> str:
    """The same address with the webcal: scheme, which opens the calendar app's "subscribe" dialogue."""
    return "webcal://" + feed_url(link).split("://", 1)[1]


# ---------------------------------------------------------------------------------------------------------------
# The feed

def _window():
    cfg = current_app.config
    today = town.day_of(utcnow())
    return (town.midnight(today - timedelta(days=cfg["FEED_PAST_DAYS"])),
            town.midnight(today + timedelta(days=cfg["FEED_FUTURE_DAYS"] + 1)), town.midnight(today))


def version(link: CalendarLink) -> Version:
    """Everything the feed depends on, read in one statement: the latest change of stops, workshops and places,
    and how many stops start in the window (a deleted draft lowers it)."""
    first, last, opened = _window()
    row = db.session.execute(sa.select(
        sa.select(sa.func.max(Stop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Workshop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Place.updated_at)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Stop).where(Stop.starts_at >= first, Stop.starts_at < last)
        .scalar_subquery(),
        sa.select(sa.func.count()).select_from(Bus).scalar_subquery(),
    )).one()
    return Version.of(("planning", link.token, link.locale, uid_domain(), first, *row), [row[0], row[1], row[2], opened])


def _rows():
    first, last, _opened = _window()
    stops = db.session.execute(
        sa.select(Stop.id, Stop.starts_at, Stop.ends_at, Stop.status, Stop.cancel_reason, Stop.sequence,
                  Stop.created_at, Stop.updated_at, Place.name, Place.address, Place.postcode, Place.lat, Place.lon,
                  District.name.label("district"), Bus.name.label("bus"))
        .join(Place, Place.id == Stop.place_id).join(District, District.id == Stop.district_id)
        .join(Bus, Bus.id == Stop.bus_id)
        .where(Stop.starts_at >= first, Stop.starts_at < last)
        .order_by(Stop.starts_at, Stop.id).limit(MAX_EVENTS)).all()
    workshops: dict[int, list] = {}
    if stops:
        ids = (sa.select(Stop.id).where(Stop.starts_at >= first, Stop.starts_at < last)
               .order_by(Stop.starts_at, Stop.id).limit(MAX_EVENTS).subquery())
        for w in db.session.execute(
                sa.select(Workshop.stop_id, Workshop.title, Workshop.starts_at, Workshop.duration_minutes,
                          Workshop.capacity, Workshop.seats_taken, Workshop.status)
                .where(Workshop.stop_id.in_(sa.select(ids.c.id)))
                .order_by(Workshop.stop_id, Workshop.starts_at, Workshop.id)):
            workshops.setdefault(w.stop_id, []).append(w)
    return stops, workshops


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


class _Words:
    """The feed's sentences, translated once per file with markers for their values (gettext per event was most
    of a large feed's time) and filled in per event."""

    def __init__(self) -> None:
        m = _mark
        self.draft = _("Draft: %(title)s", title=m("title"))
        self.cancelled = _("Cancelled: %(title)s", title=m("title"))
        self.state = _("State: %(state)s", state=m("state"))
        self.bus = _("Bus: %(bus)s", bus=m("bus"))
        self.reason = _("Reason: %(reason)s", reason=m("reason"))
        self.heading = _("Workshops:")
        self.workshop = _("%(start)s–%(end)s %(title)s: %(taken)s of %(seats)s seats booked", start=m("start"),
                          end=m("end"), title=m("title"), taken=m("taken"), seats=m("seats"))
        self.link = _("In the planning pages: %(url)s", url=m("url"))
        self.states = {StopStatus.DRAFT: _("Draft"), StopStatus.PUBLISHED: _("Published"),
                       StopStatus.CANCELLED: _("Cancelled")}

    @staticmethod
    def fill(pattern: str, **values) -> str:
        for name, value in values.items():
            pattern = pattern.replace(_mark(name), str(value))
        return pattern


def render(link: CalendarLink) -> bytes:
    """The feed's bytes, written line by line (thousands of stops in well under a second)."""
    stops, workshops = _rows()
    tzid = current_app.config["TIMEZONE"]
    tz = ZoneInfo(tzid)
    several_buses = len({s.bus for s in stops}) > 1
    domain, stamp = uid_domain(), f"DTSTAMP:{utc_text(utcnow())}"
    stop_link = links.absolute_url("planning.stop", stop_id=1)
    prefix = stop_link[:-1] if stop_link.endswith("/1") else None
    city = current_app.config["CITY_NAME"]
    name = _("Digital workshop bus: planning")
    words, fill = _Words(), _Words.fill
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "METHOD:PUBLISH",
             fold_line(f"NAME:{escape_text(name)}"), fold_line(f"X-WR-CALNAME:{escape_text(name)}"),
             "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H",
             f"UID:planning-{link.user_id}@{domain}"]
    if stops:
        lines.append(vtimezone_text(tzid, stops[0].starts_at.astimezone(tz).year - 1,
                                    stops[-1].starts_at.astimezone(tz).year + 2))
    for s in stops:
        url = f"{prefix}{s.id}" if prefix else links.absolute_url("planning.stop", stop_id=s.id)
        title = f"{s.name} ({s.district})" + (f" · {s.bus}" if several_buses else "")
        if s.status == StopStatus.DRAFT:
            title = fill(words.draft, title=title)
        elif s.status == StopStatus.CANCELLED:
            title = fill(words.cancelled, title=title)
        text = [fill(words.state, state=words.states.get(s.status, s.status.value)), fill(words.bus, bus=s.bus)]
        if s.status == StopStatus.CANCELLED and s.cancel_reason:
            text.append(fill(words.reason, reason=s.cancel_reason))
        rows = workshops.get(s.id, [])
        if rows:
            text += ["", words.heading]
        for w in rows:
            start = w.starts_at.astimezone(tz)
            end = start + timedelta(minutes=w.duration_minutes)
            line = fill(words.workshop, start=f"{start:%H:%M}", end=f"{end:%H:%M}", title=w.title,
                        taken=w.seats_taken, seats=w.capacity)
            if w.status == WorkshopStatus.CANCELLED:
                line = fill(words.cancelled, title=line)
            elif w.status == WorkshopStatus.DRAFT:
                line = fill(words.draft, title=line)
            text.append("• " + line)
        text += ["", fill(words.link, url=url)]
        location = ", ".join(p for p in (s.name, s.address, f"{s.postcode} {city}" if s.postcode else "") if p)
        status = {StopStatus.DRAFT: "TENTATIVE", StopStatus.CANCELLED: "CANCELLED"}.get(s.status, "CONFIRMED")
        lines += ["BEGIN:VEVENT", stamp,
                  fold_line("SUMMARY:" + escape_text(title)),
                  f"DTSTART;TZID={tzid}:{s.starts_at.astimezone(tz):%Y%m%dT%H%M%S}",
                  f"DTEND;TZID={tzid}:{s.ends_at.astimezone(tz):%Y%m%dT%H%M%S}",
                  f"UID:planning-stop-{s.id}@{domain}", f"SEQUENCE:{s.sequence}", f"CREATED:{utc_text(s.created_at)}",
                  f"LAST-MODIFIED:{utc_text(s.updated_at)}",
                  fold_line("DESCRIPTION:" + escape_text("\n".join(text))),
                  fold_line("LOCATION:" + escape_text(location))]
        if s.lat is not None and s.lon is not None:
            lines.append(f"GEO:{s.lat!r};{s.lon!r}")
        lines += [f"STATUS:{status}", fold_line("URL:" + url), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def touch(link: CalendarLink) -> None:
    """Note that the feed was fetched, at most once an hour (one small write, not one per poll)."""
    now = utcnow()
    if link.last_used_at is None or now - link.last_used_at >= TOUCH_EVERY:
        db.session.execute(sa.update(CalendarLink).where(CalendarLink.id == link.id).values(last_used_at=now))
        db.session.commit()


# ---------------------------------------------------------------------------------------------------------------
# The pages

@bp.get("/calendar")
@role_required(Role.COORDINATOR)
def calendar_link():
    """The coordinator's calendar address: how to subscribe, make a new one, or delete it."""
    link = link_of(current_user)
    return render_template("planning/calendar.html", link=link, url=feed_url(link) if link else None,
                           webcal=webcal_url(link) if link else None)


@bp.post("/calendar/renew")
@role_required(Role.COORDINATOR)
def calendar_renew():
    """Make the address, or a new one in place of the old."""
    had = link_of(current_user) is not None
    renew(current_user._get_current_object(), str(get_locale()))
    flash(_("Here is your new calendar address. The old one no longer works.") if had
          else _("Here is your calendar address."), "success")
    return redirect(url_for("planning.calendar_link"), code=303)


@bp.post("/calendar/revoke")
@role_required(Role.COORDINATOR)
def calendar_revoke():
    """Delete the address: calendars subscribed to it get nothing more."""
    if revoke(current_user._get_current_object()):
        flash(_("The calendar address is deleted. Calendars subscribed to it get no more updates."), "success")
    return redirect(url_for("planning.calendar_link"), code=303)


@feed_bp.get("/plan/<token>.ics")
def feed(token: str):
    """The whole tour for a calendar app, opened by a coordinator's secret address (no sign-in)."""
    link = valid_link(token)
    if link is None:
        return Response(_("This calendar address is not valid (any more). A coordinator can make a new one on the "
                          "page \u201cCalendar subscription\u201d."), status=404, mimetype="text/plain")
    with force_locale(link.locale):
        answer = calendar_answer(version(link), lambda: render(link), "planning.ics")
    touch(link)
    # Private: a shared cache must not keep it, and the secret must not travel on as a referrer.
    answer.headers["Cache-Control"] = "private, max-age=300"
    answer.headers["Referrer-Policy"] = "no-referrer"
    answer.headers["X-Robots-Tag"] = "noindex"
    return answer
