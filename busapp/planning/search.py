"""One search box for coordinators (/admin/search): places, stops and bookings by name, code, date or number.

What a search finds
    Places whose name, street, postcode, district or nearest city bus stop holds every word typed. Stops at those
    places, a stop by its number ("#123" or "123"), and the stops of a day typed as 12.12.2026, 12.12. or
    2026-12-12. Bookings whose name holds every word typed, or whose code starts with what was typed ("k7m-q4p"
    finds K7MQ4P). Capital letters do not matter, nor umlauts written out ("Mueller" finds "Müller" and back).
    Each group shows its first GROUP_LIMIT results and says how many there are in all; stops still to come
    first (soonest first), then past ones (latest first). A booking whose personal data was deleted is found
    by its code only. Nothing is written: a search changes nothing and is not recorded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template, request
from sqlalchemy.orm import joinedload

from ..accounts.auth import role_required
from ..booking.service import normalize_code
from ..core.extensions import db
from ..core.forms import clean_text
from ..core.htmx import is_partial
from ..models import Booking, District, Place, Role, Stop, Workshop, utcnow
from . import bp, service

GROUP_LIMIT = 20
MAX_QUERY = 100  # characters; longer input is cut
MAX_WORDS = 6
MIN_CODE = 3  # a code is looked up from this many characters on
CODE_LENGTH = 6

# Umlauts as people type them without a German keyboard, and back.
_SPELLED = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"))
_STOP_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")


@dataclass
class Group:
    """One kind of result: the first rows and how many there are in all."""

    rows: list = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


@dataclass
class Results:
    query: str
    places: Group = field(default_factory=Group)
    stops: Group = field(default_factory=Group)
    bookings: Group = field(default_factory=Group)
    day: date | None = None

    @property
    def total(self) -> int:
        return self.places.total + self.stops.total + self.bookings.total


def clean_query(text: str | None) -> str:
    """What was typed, without control characters and extra spaces, at most MAX_QUERY characters."""
    return " ".join(clean_text(text or "").split())[:MAX_QUERY]


def spellings(word: str) -> list[str]:
    """The lower-case ways a word may be written: as typed, with umlauts written out, and written out ones as umlauts."""
    word = word.lower()
    out = [word]
    spelled = word
    for umlaut, written in _SPELLED:
        spelled = spelled.replace(umlaut, written)
    joined = word
    for umlaut, written in _SPELLED:
        joined = joined.replace(written, umlaut)
    for candidate in (spelled, joined):
        if candidate not in out:
            out.append(candidate)
    return out


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _holds(columns, word: str):
    """Any of the columns holds the word in any of its spellings (lower-case on both sides)."""
    return sa.or_(*(sa.func.lower(column).like(_like(spelling), escape="\\")
                    for column in columns for spelling in spellings(word)))


def _words(query: str) -> list[str]:
    return query.split()[:MAX_WORDS]


def parse_day(query: str, today: date) -> date | None:
    """A day typed as 12.12.2026, 12.12.26, 12.12. (the next such day from today on) or 2026-12-12; else None."""
    text = query.strip()
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else _german_day(text, today)
    except ValueError:
        return None


def _german_day(text: str, today: date) -> date | None:
    found = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?", text)
    if not found:
        return None
    day, month, year = int(found[1]), int(found[2]), found[3]
    if year:
        return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    this_year = date(today.year, month, day)
    return this_year if this_year >= today - timedelta(days=31) else date(today.year + 1, month, day)


def _count(query) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))


def _places(words: list[str]) -> Group:
    query = (sa.select(Place).join(District, District.id == Place.district_id)
             .where(*(_holds(PLACE_COLUMNS, w) for w in words)).order_by(Place.name, Place.id))
    return Group(list(db.session.scalars(query.options(joinedload(Place.district)).limit(GROUP_LIMIT))), _count(query))


def _stops(condition) -> Group:
    now = utcnow()
    coming = sa.case((Stop.ends_at >= now, 0), else_=1)
    # Coming stops soonest first, then past ones latest first: one ordering both databases run the same way.
    soonest = sa.case((Stop.ends_at >= now, Stop.starts_at), else_=None)
    latest = sa.case((Stop.ends_at < now, Stop.starts_at), else_=None)
    query = (sa.select(Stop).where(condition)
             .order_by(coming, soonest.asc(), latest.desc(), Stop.id))
    rows = db.session.scalars(query.options(joinedload(Stop.district), joinedload(Stop.bus)).limit(GROUP_LIMIT))
    return Group(list(rows), _count(query))


def _bookings(words: list[str], code: str, on_day) -> Group:
    conditions = []
    if words:
        conditions.append(sa.and_(Booking.name.is_not(None), *(_holds((Booking.name,), w) for w in words)))
    if MIN_CODE <= len(code) <= CODE_LENGTH:
        conditions.append(Booking.code.startswith(code, autoescape=True))
    if not conditions:
        return Group()
    query = (sa.select(Booking).join(Workshop, Workshop.id == Booking.workshop_id).join(Stop, Stop.id == Workshop.stop_id)
             .where(sa.or_(*conditions), *on_day).order_by(Stop.starts_at.desc(), Booking.id))
    rows = db.session.scalars(query.options(joinedload(Booking.workshop).joinedload(Workshop.stop)).limit(GROUP_LIMIT))
    return Group(list(rows), _count(query))


PLACE_COLUMNS = (Place.name, Place.address, Place.postcode, Place.transit_stop, District.name)


def find(text: str | None) -> Results:
    """Everything the query finds, grouped; an empty query finds nothing. A date among the words keeps the stops
    and bookings of that day ("Altstadt 12.12." or "Müller 12.12.2026")."""
    query = clean_query(text)
    results = Results(query)
    if not query:
        return results
    today = service.local_day(utcnow())
    words: list[str] = []
    for word in _words(query):
        day = parse_day(word, today) if results.day is None else None
        if day is not None:
            results.day = day
        elif word != "#":
            words.append(word)
    on_day = []
    if results.day is not None:
        start = service.local(results.day, service.time(0))
        on_day = [Stop.starts_at >= start, Stop.starts_at < start + timedelta(days=1)]
    number = _STOP_NUMBER.match(" ".join(words)) if len(words) == 1 else None
    if words:
        results.places = _places(words)
        at_places = Stop.place_id.in_(sa.select(Place.id).join(District, District.id == Place.district_id)
                                      .where(*(_holds(PLACE_COLUMNS, w) for w in words)))
        where = sa.or_(at_places, Stop.id == int(number[1])) if number else at_places
        results.stops = _stops(sa.and_(where, *on_day))
        results.bookings = _bookings([] if number else words, normalize_code(words[0]) if len(words) == 1 else "",
                                     on_day)
    else:
        results.stops = _stops(sa.and_(*on_day))
    return results


# ---------------------------------------------------------------------------------------------------------------
# The page

@bp.get("/search")
@role_required(Role.COORDINATOR)
def search():
    """The search page, and its results alone for the search-as-you-type of the same form (htmx)."""
    results = find(request.args.get("q"))
    several_buses = len(service.buses()) > 1
    if is_partial():
        return render_template("planning/_search_results.html", results=results, partial=True,
                               several_buses=several_buses)
    # The hint's example district is one of this town's.
    example = db.session.scalar(sa.select(District.name).order_by(District.number).limit(1)) or "Nord"
    return render_template("planning/search.html", results=results, partial=False, several_buses=several_buses,
                           example=example)
