"""A stop's notices in other languages, written after the fact.

The notices
    Residents read three kinds of notice about a stop, each typed in German where it is made, with translations
    beside it (busapp/core/content.py): the live note (the live status on the stop page, or a tablet's), the
    reason of a cancellation (of the stop, or of one workshop) and the note on a change told to the people booked
    (on their tickets). One text is often kept in several places: cancelling a stop writes its reason as the stop's
    reason, as each cancelled workshop's reason and as the note to the people booked. A `Notice` is one text with
    every place that keeps it and residents still see, so a coordinator translates it once for all of them.

Translating later
    The forms where a notice is typed take its translations at once; a coordinator who has them only later (or
    finds a gap on the languages page) adds them here. Only the translations change: nothing is mailed again, the
    live status and its time stay. The form carries the German text it was shown with; when the notice has
    changed since (a tablet typed a new live note), nothing is written and the coordinator sees the new text. Only
    the languages the coordinator changed are written, under the stop's row lock, so two coordinators adding
    different languages at the same time keep both.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..core import content
from ..core.extensions import db
from ..models import Stop, StopStatus, User, Workshop, WorkshopStatus, audit, utcnow
from .writes import Refused, user_in_session

# The most a translation may hold: the shortest column among the places a notice is kept in.
LIMITS = {"live_note": 200, "cancel_reason": 300, "change_note": 300}


@dataclass
class Notice:
    """One text residents read about a stop, with the places that keep it: (row, field) pairs."""

    text: str
    places: list[tuple[object, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Names the notice in a form: its first place, such as `stop-12-live_note` or `workshop-40-cancel_reason`."""
        row, name = self.places[0]
        return f"{type(row).__name__.lower()}-{row.id}-{name}"

    @property
    def version(self) -> str:
        """A short fingerprint of the text, which the form sends back to say which text it translated."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    @property
    def field(self) -> str:
        return self.places[0][1]

    @property
    def limit(self) -> int:
        return min(LIMITS[name] for _row, name in self.places)

    def translations(self) -> dict[str, str]:
        """{tag: text} as the places have them (the first place that has a language gives it)."""
        found: dict[str, str] = {}
        for row, name in self.places:
            for tag, text in content.texts_of(row.texts, name).items():
                found.setdefault(tag, text)
        return found

    def as_texts(self) -> dict[str, dict[str, str]]:
        """The translations as a form's language blocks read them: {tag: {field: text}}."""
        return {tag: {self.field: text} for tag, text in self.translations().items()}

    def missing(self) -> list[str]:
        """The languages residents read this notice in German: some place of it has no text in them."""
        return [tag for tag in content.other_languages() if any(
            not content.texts_of(row.texts, name).get(tag) for row, name in self.places)]

    def uses(self) -> list[tuple[str, Workshop | None]]:
        """What the notice is, for each place: (kind, workshop or None)."""
        return [(name, row if isinstance(row, Workshop) else None) for row, name in self.places]


def notices(stop: Stop) -> list[Notice]:
    """The notices residents see about this stop, each text once: on a cancelled stop its reason (and the note to
    the people booked and the workshops' reasons where they say the same); otherwise the live note, the note on
    the last change and the reasons of cancelled workshops."""
    places: list[tuple[object, str, str]] = []
    if stop.status == StopStatus.CANCELLED:
        places.append((stop, "cancel_reason", stop.cancel_reason))
        if stop.change_note == stop.cancel_reason:
            places.append((stop, "change_note", stop.change_note))
    else:
        places.append((stop, "live_note", stop.live_note))
        if stop.changed_at is not None:
            places.append((stop, "change_note", stop.change_note))
    for workshop in sorted(stop.workshops, key=lambda w: (w.starts_at, w.id)):
        if workshop.status == WorkshopStatus.CANCELLED:
            places.append((workshop, "cancel_reason", workshop.cancel_reason))
    found: dict[str, Notice] = {}
    for row, name, text in places:
        text = (text or "").strip()
        if text:
            found.setdefault(text, Notice(text)).places.append((row, name))
    return list(found.values())


def missing(now: datetime | None = None, limit: int = 500) -> list[tuple[Stop, list[Notice]]]:
    """The stops not over yet with a notice residents read in German in some language, with those notices."""
    now = now or utcnow()
    has_text = sa.or_(Stop.live_note != "", Stop.cancel_reason != "", Stop.change_note != "",
                      sa.exists().where(Workshop.stop_id == Stop.id, Workshop.cancel_reason != ""))
    stops = db.session.scalars(
        sa.select(Stop).where(Stop.ends_at >= now, Stop.status != StopStatus.DRAFT, has_text)
        .options(selectinload(Stop.workshops), selectinload(Stop.place))
        .order_by(Stop.starts_at, Stop.id).limit(limit)).all()
    found = []
    for stop in stops:
        gaps = [n for n in notices(stop) if n.missing()]
        if gaps:
            found.append((stop, gaps))
    return found


def translate(stop_id: int, key: str, version: str, changes: dict[str, str], user: User | None) -> Notice:
    """Change the translations of the notice `key` of the stop ({tag: text}; an empty text removes that language;
    languages not named stay as they are now, so two coordinators writing different languages at once keep both),
    in every place that keeps it. Raises Refused when the notice is gone or its text is no longer the one the form
    showed (`version`)."""
    db.session.rollback()
    # The row lock first (on SQLite the database's write lock), then the stop as it is now.
    db.session.execute(sa.text("UPDATE stop SET id = id WHERE id = :id"), {"id": stop_id})
    stop = db.session.get(Stop, stop_id, populate_existing=True)
    notice = next((n for n in notices(stop) if n.key == key), None) if stop is not None else None
    if notice is None:
        db.session.rollback()
        raise Refused({"": [_("This notice is no longer shown to residents.")]})
    if notice.version != version:
        db.session.rollback()
        raise Refused({"": [_("This notice was changed in the meantime. Here is the new text: please translate it.")]})
    merged = {tag: text for tag, text in (notice.translations() | changes).items() if text}
    for row, name in notice.places:
        content.set_texts_of(row, name, merged)
    audit("stop-texts", stop, user=user_in_session(user), notice=notice.key, kinds=[k for k, _w in notice.uses()],
          languages=sorted(changes))
    db.session.commit()
    return notice
