"""Demo data: Lübeck's ten Stadtteile and a plausible six-week tour of the bus, relative to today."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .content import set_text
from .extensions import db
from .models import (
    AuditEvent, Booking, District, Feedback, LiveStatus, RateCounter, Role, Stop, StopStatus, User, Workshop,
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

# The demo workshops in other languages, by their own title: {tag: (title, description)}; an empty description
# leaves the German (or the workshop's own) one in place.
WORKSHOP_TEXTS = {
    "Das Smartphone kennenlernen": {
        "de-x-ls": ("Das Handy kennen-lernen", "Wir zeigen Ihnen Ihr Handy. Schritt für Schritt. Sie lernen: "
                    "Das Handy anmachen. Apps öffnen. Die Schrift größer machen. Anrufen. Fotos machen."),
        "en": ("Getting to know your smartphone", "Switching on, opening apps, making text larger, calls and "
               "photos: calmly, step by step."),
        "tr": ("Akıllı telefonu tanıyalım", "Açmak, uygulama açmak, yazıyı büyütmek, arama ve fotoğraf: "
               "sakin sakin, adım adım."),
        "ar": ("تعرّف على هاتفك الذكي", "التشغيل، فتح التطبيقات، تكبير الخط، المكالمات والصور: بهدوء وخطوة بخطوة."),
        "uk": ("Знайомство зі смартфоном", "Увімкнути, відкрити застосунки, збільшити шрифт, дзвінки й фото: "
               "спокійно, крок за кроком."),
        "ru": ("Знакомство со смартфоном", ""),
        "pl": ("Poznajemy smartfon", ""),
        "fa": ("آشنایی با گوشی هوشمند", "روشن کردن، باز کردن برنامه‌ها، بزرگ کردن نوشته، تماس و عکس: آرام و گام به گام."),
    },
    "Videoanrufe mit der Familie": {
        "de-x-ls": ("Video-Anrufe mit der Familie", "Wir probieren Video-Anrufe zusammen aus. Mit Ihrem Handy. "
                    "Oder mit einem Handy von uns."),
        "en": ("Video calls with your family", "We try video calls together, on your device or on one we lend you."),
        "tr": ("Aileyle görüntülü görüşme", "Görüntülü görüşmeyi birlikte deniyoruz, kendi cihazınızla veya "
               "ödünç bir cihazla."),
        "ar": ("مكالمات الفيديو مع العائلة", "نجرّب مكالمات الفيديو معًا، على جهازك أو على جهاز نعيره لك."),
        "uk": ("Відеодзвінки з родиною", "Разом пробуємо відеодзвінки, на вашому пристрої або на нашому."),
        "ru": ("Видеозвонки с семьёй", ""),
        "pl": ("Rozmowy wideo z rodziną", ""),
        "fa": ("تماس تصویری با خانواده", ""),
    },
    "Sicher online bezahlen": {
        "de-x-ls": ("Sicher im Internet bezahlen", ""),
        "en": ("Paying safely online", "Online banking, safe passwords and how to spot fraudulent messages."),
        "tr": ("İnternette güvenli ödeme", ""),
        "ar": ("الدفع الآمن عبر الإنترنت", ""),
        "uk": ("Безпечно платити онлайн", ""),
    },
    "Falschmeldungen erkennen": {
        "de-x-ls": ("Falsche Nachrichten erkennen", ""),
        "en": ("Spotting false reports", ""),
        "tr": ("Yalan haberleri tanımak", ""),
        "ar": ("كشف الأخبار الكاذبة", ""),
    },
    "Online zum Amt: die Dienste der Stadt": {
        "de-x-ls": ("Die Stadt im Internet", "Sie lernen: Einen Termin bei der Stadt machen. "
                    "Einen Antrag im Internet schicken."),
        "en": ("The city's services online", "Booking appointments, applying online, setting up the citizen account."),
        "tr": ("Belediye işleri internetten", "Randevu almak, başvuruları internetten yapmak, vatandaş hesabı açmak."),
        "ar": ("خدمات المدينة عبر الإنترنت", "حجز المواعيد، تقديم الطلبات عبر الإنترنت، وإنشاء حساب المواطن."),
        "uk": ("Послуги міста онлайн", "Записатися на прийом, подати заяву онлайн, створити обліковий запис громадянина."),
        "ru": ("Услуги города онлайн", ""),
        "fa": ("خدمات اینترنتی شهر", ""),
    },
    "Messenger for newcomers": {
        "de": ("Messenger für Neue in Lübeck", "Messenger, E-Mail und die Apps der Stadt, auf Englisch erklärt, "
               "mit Zeit für Ihre Fragen."),
        "uk": ("Месенджери для нових мешканців", ""),
        "ar": ("تطبيقات المراسلة للقادمين الجدد", ""),
    },
    "Akıllı telefon: ilk adımlar": {
        "de": ("Smartphone: erste Schritte", "Die wichtigsten Funktionen des Smartphones, auf Türkisch erklärt."),
        "en": ("Smartphone: first steps", "The basics of a smartphone, explained in Turkish."),
    },
}
CANCEL_REASON_TEXTS = {
    "de-x-ls": "Der Bus ist kaputt. Er ist in der Werkstatt. Wir kommen an einem anderen Tag.",
    "en": "The bus is in the garage. We will make up the date.",
    "tr": "Otobüs tamirde. Bu ziyareti daha sonra yapacağız.",
    "ar": "الحافلة في الورشة. سنعوّض هذا الموعد لاحقًا.",
    "uk": "Автобус на ремонті. Ми перенесемо цей візит.",
    "ru": "Автобус в ремонте. Мы перенесём этот визит.",
    "pl": "Autobus jest w warsztacie. Odrobimy ten termin.",
    "fa": "اتوبوس در تعمیرگاه است. این بازدید را بعداً جبران می‌کنیم.",
}

SLOTS = ((time(10, 0), time(13, 0)), (time(14, 30), time(17, 30)))

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
    for model in (Feedback, Booking, Workshop, Stop, District, RateCounter):
        db.session.execute(sa.delete(model))


def load(today: date | None = None, weeks: int = 6, with_users: bool = True) -> dict[str, int]:
    """Replace the tour with demo data starting a few days before `today`; returns counts."""
    today = today or datetime.now(BERLIN).date()
    clear()
    districts = []
    for row in _districts_data():
        d = District(number=row["number"], name=row["name"], slug=row["slug"], lat=row["lat"], lon=row["lon"])
        d.places = row["places"]  # not stored: used below to place the stops
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
                name, _, address = place["name"].partition(", ")
                stop = Stop(
                    district=district, place=name, address=address or f"{district.name}, Lübeck",
                    lat=place["lat"], lon=place["lon"],
                    starts_at=_at(day, start), ends_at=_at(day, end), status=StopStatus.PUBLISHED,
                )
                if day < today:
                    stop.live_status = LiveStatus.LEFT
                if n == 7:
                    stop.status = StopStatus.CANCELLED
                    stop.cancel_reason = "Der Bus ist in der Werkstatt. Wir holen den Termin nach."
                    for lang, reason in CANCEL_REASON_TEXTS.items():
                        set_text(stop, lang, cancel_reason=reason)
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
                    workshop = Workshop(
                        stop=stop, title=title, topic=topic, audience=audience, language=lang,
                        duration_minutes=minutes, capacity=capacity, description=desc,
                        accessibility_notes=notes, starts_at=starts,
                    )
                    for text_lang, (other_title, other_desc) in WORKSHOP_TEXTS.get(title, {}).items():
                        set_text(workshop, text_lang, title=other_title, description=other_desc)
                    db.session.add(workshop)
                    workshops += 1
                n += 1
        day += timedelta(days=1)

    db.session.flush()
    _add_feedback(today)

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
    return {"districts": len(districts), "stops": stops, "workshops": workshops}


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
