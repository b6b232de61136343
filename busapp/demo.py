"""Demo data: Lübeck's ten Stadtteile and a plausible six-week tour of the bus, relative to today."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .extensions import db
from .models import (
    AuditEvent, Booking, Course, District, Feedback, LiveStatus, Place, RateCounter, Role, Stop, StopStatus, User, Workshop,
)

BERLIN = ZoneInfo("Europe/Berlin")

DEMO_USERS = (
    ("staff@digitalbus.example", "staff", "demo-staff-bus"),
    ("coordinator@digitalbus.example", "coordinator", "demo-coordinator-bus"),
)

# (topic, title, audience, language, minutes, capacity, description, accessibility notes)
WORKSHOPS = [
    ("smartphone_basics", "Das Smartphone kennenlernen", "seniors", "de", 90, 8,
     "Einschalten, Apps öffnen, Schrift größer stellen, Anrufe und Fotos: in Ruhe und Schritt für Schritt.",
     "Stufenloser Einstieg über die Hebebühne. Leihgeräte mit großer Schrift."),
    ("video_calls", "Videoanrufe mit der Familie", "seniors", "de", 60, 8,
     "Wir probieren Videoanrufe gemeinsam aus, auf Ihrem Gerät oder einem Leihgerät.",
     "Kopfhörer mit Induktionsschleife vorhanden."),
    ("online_banking", "Sicher online bezahlen", "everyone", "de", 90, 10,
     "Online-Banking, sichere Passwörter und wie man betrügerische Nachrichten erkennt.", ""),
    ("fake_news", "Falschmeldungen erkennen", "youth", "de", 60, 12,
     "Woran erkenne ich eine Falschmeldung? Bilder prüfen, Quellen finden.", ""),
    ("city_services", "Online zum Amt: die Dienste der Stadt", "newcomers", "de", 90, 8,
     "Termine buchen, Anträge online stellen, das Bürgerkonto einrichten.",
     "Unterstützung auf Türkisch, Arabisch und Ukrainisch möglich."),
    ("photos", "Fotos machen, ordnen und teilen", "families", "de", 60, 10,
     "Schöne Fotos mit dem Handy, Alben anlegen, Bilder sicher teilen.", ""),
    ("passwords", "Passwörter und Privatsphäre", "everyone", "de", 60, 10,
     "Gute Passwörter, Passwort-Manager und die wichtigsten Einstellungen für mehr Privatsphäre.", ""),
    ("messengers", "Messenger for newcomers", "newcomers", "en", 60, 8,
     "Messengers, email and the city's apps explained in English, with time for your questions.", ""),
    ("ai_tools", "KI im Alltag ausprobieren", "everyone", "de", 90, 10,
     "Was können KI-Werkzeuge, was nicht? Wir probieren es gemeinsam aus.", ""),
    ("smartphone_basics", "Akıllı telefon: ilk adımlar", "newcomers", "tr", 60, 8,
     "Akıllı telefonun temel işlevleri, Türkçe anlatımla.", ""),
]

SLOTS = ((time(10, 0), time(13, 0)), (time(14, 30), time(17, 30)))

# Details of the demo places beyond name and coordinates. The data file has no street addresses (a few names
# carry one), so everything here is an example and every page says so: (postcode, nearest city bus stop, lines,
# step-free, seats, toilet, hearing loop, how to find the bus), cycled over the places.
PLACE_DETAILS = [
    ("23552", "Markt", "1, 2, 11", True, True, None, False, "Der Bus steht an der Seite zum Rathaus."),
    ("23560", "Brink", "2, 9", True, False, True, None, "Der Bus steht hinter den Marktständen, am Parkplatz."),
    ("23560", "Moislinger Mitte", "6, 16", True, True, True, True,
     "Der Bus steht vor dem Haupteingang. Die Toilette ist im Haus, gleich links."),
    ("23560", "Bibliothek", "6", None, True, True, False, "Eingang an der Rückseite der Bücherei, der Bus steht dort."),
    ("23556", "Buntekuh", "7, 17", True, None, False, None, "Der Bus steht auf dem Hof hinter dem Familienzentrum."),
    ("23554", "Kolberger Platz", "5, 15", False, True, None, None,
     "Der Bus steht auf dem Platz. Zum Einstieg gibt es eine Hebebühne."),
    ("23568", "Brolingplatz", "3, 10", True, True, False, None, "Der Bus steht am Rand des Markts, an der Bushaltestelle."),
    ("23566", "Marli-Forum", "1, 11", True, True, True, True, "Der Bus steht auf dem Parkplatz vor dem Forum."),
]

# Answers for the stops already visited, so the coordinators' results page has something to show:
# (rating, what was learned, what was missing, topic wished for, age group)
FEEDBACK = [
    (5, "Wie ich die Schrift auf dem Handy größer stelle.", "", "online_banking", "65_79"),
    (4, "Videoanruf mit meiner Enkelin hat geklappt!", "Mehr Zeit zum Üben.", "photos", "80_plus"),
    (5, "", "", "city_services", "30_49"),
    (3, "Passwort-Manager eingerichtet.", "Es war sehr voll im Bus.", "passwords", "50_64"),
    (4, "Woran man Fake News erkennt.", "", "ai_tools", "18_29"),
    (2, "", "Ich habe den Bus zuerst nicht gefunden.", "", ""),
]


def _districts_data() -> list[dict]:
    text = resources.files("busapp").joinpath("data/luebeck-districts.json").read_text(encoding="utf-8")
    return json.loads(text)["districts"]


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=BERLIN)


def clear() -> None:
    """Delete every row of the tour, its bookings and feedback (accounts stay unless asked)."""
    for model in (Feedback, Booking, Workshop, Stop, Place, District, Course, RateCounter):
        db.session.execute(sa.delete(model))


def load(today: date | None = None, weeks: int = 6, with_users: bool = True) -> dict[str, int]:
    """Replace the tour with demo data starting a few days before `today`; returns counts."""
    today = today or datetime.now(BERLIN).date()
    clear()
    districts, places = [], []
    for row in _districts_data():
        d = District(number=row["number"], name=row["name"], slug=row["slug"], lat=row["lat"], lon=row["lon"])
        d.places = [_place(d, p, len(places) + i) for i, p in enumerate(row["places"])]  # used below
        places += d.places
        districts.append(d)
        db.session.add(d)

    stops, workshops = 0, 0
    first = today - timedelta(days=3)
    day, n = first, 0
    while day <= today + timedelta(weeks=weeks):
        if day.weekday() < 5:
            for start, end in SLOTS:
                district = districts[n % len(districts)]
                place = district.places[(n // len(districts)) % len(district.places)]
                stop = Stop(
                    district=district, place=place,
                    starts_at=_at(day, start), ends_at=_at(day, end), status=StopStatus.PUBLISHED,
                )
                if day < today:
                    stop.live_status = LiveStatus.LEFT
                if n == 7:
                    stop.status = StopStatus.CANCELLED
                    stop.cancel_reason = "Der Bus ist in der Werkstatt. Wir holen den Termin nach."
                    stop.sequence = 1
                if day > today + timedelta(weeks=weeks - 1) and n % 2:
                    stop.status = StopStatus.DRAFT  # the coordinators are still planning these
                db.session.add(stop)
                stops += 1
                per_stop = 2 + (n % 2)
                for k in range(per_stop):
                    topic, title, audience, lang, minutes, capacity, desc, notes = WORKSHOPS[(n * 3 + k) % len(WORKSHOPS)]
                    starts = stop.starts_at + timedelta(minutes=75 * k)
                    if starts + timedelta(minutes=minutes) > stop.ends_at:
                        starts = stop.ends_at - timedelta(minutes=minutes)
                    db.session.add(Workshop(
                        stop=stop, title=title, topic=topic, audience=audience, language=lang,
                        duration_minutes=minutes, capacity=capacity, description=desc,
                        accessibility_notes=notes, starts_at=starts,
                    ))
                    workshops += 1
                n += 1
        day += timedelta(days=1)

    db.session.flush()
    _add_feedback(today)
    # The course catalogue starts with the demo tour's workshops, so a coordinator can plan from it at once.
    seen = set()
    for topic, title, audience, lang, minutes, capacity, desc, _notes in WORKSHOPS:
        if title not in seen:
            seen.add(title)
            db.session.add(Course(title=title, topic=topic, audience=audience, language=lang, description=desc,
                                  duration_minutes=minutes, capacity=capacity,
                                  what_to_bring="Eigenes Handy mit Ladekabel, falls vorhanden"))

    if with_users:
        for email, role, password in DEMO_USERS:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                user = User(email=email, role=Role(role))
                db.session.add(user)
            user.active = True
            user.set_password(password)
    db.session.add(AuditEvent(action="seed-demo", detail={"stops": stops, "workshops": workshops}))
    db.session.commit()
    return {"districts": len(districts), "places": len(places), "stops": stops, "workshops": workshops}


def _place(district: District, row: dict, n: int) -> Place:
    """A demo place from the data file, with example details marked as such."""
    name, _, street = row["name"].partition(", ")
    postcode, transit_stop, lines, step_free, seats, toilet, loop, note = PLACE_DETAILS[n % len(PLACE_DETAILS)]
    place = Place(
        district=district, name=name, address=street, postcode=postcode, lat=row["lat"], lon=row["lon"],
        transit_stop=transit_stop, transit_lines=lines, step_free=step_free, seats=seats, toilet=toilet,
        hearing_loop=loop, finding_note=note, is_example=True,
    )
    db.session.add(place)
    return place


def _add_feedback(today: date) -> None:
    """A few anonymous answers for each stop that has already taken place."""
    past = db.session.scalars(
        sa.select(Stop).where(Stop.status == StopStatus.PUBLISHED, Stop.ends_at < _at(today, time(0, 0)))
    ).all()
    for i, stop in enumerate(past):
        for k in range(3 + i % 3):
            rating, learned, missing, wish, age = FEEDBACK[(i + k) % len(FEEDBACK)]
            db.session.add(Feedback(
                stop=stop, workshop=stop.workshops[k % len(stop.workshops)], rating=rating, learned=learned,
                missing=missing, wish_topic=wish, age_group=age, idempotency_key=f"demo-{stop.id}-{k}",
                created_at=stop.ends_at - timedelta(minutes=20 - k),
            ))


def is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(District)) == 0
