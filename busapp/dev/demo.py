"""Demo data: the town profile's districts and a plausible six-week tour of the bus, relative to today.

The districts come from the profile's official list, the places where the bus parks from its demo.json
(busapp/core/townprofile.py); a profile without one gets an example meeting point at each district's centre. The
workshops, their texts and the feedback are the same for every town."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from ..core import districtfile
from ..core.content import set_text
from ..domain import town
from ..core.extensions import db
from ..models import (
    AuditEvent,
    Booking,
    Course,
    District,
    Feedback,
    LiveStatus,
    Place,
    RateCounter,
    Role,
    Stop,
    StopStatus,
    User,
    Workshop,
    WorkshopStatus,
)


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

# A course's texts under a workshop's names.
COURSE_TO_WORKSHOP = {"title": "title", "description": "description", "what_to_bring": "bring"}

# The demo courses (and the workshops made from them) in other languages, by their own title: {tag: (title, description)}; an empty description
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
        "ru": ("Знакомство со смартфоном", "Включить, открыть приложения, увеличить шрифт, звонки и фото: "
               "спокойно, шаг за шагом."),
        "pl": ("Poznajemy smartfon", "Włączanie, otwieranie aplikacji, powiększanie tekstu, rozmowy i zdjęcia: "
               "spokojnie, krok po kroku."),
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
        "ru": ("Видеозвонки с семьёй", "Вместе пробуем видеозвонки, на вашем устройстве или на нашем."),
        "pl": ("Rozmowy wideo z rodziną", "Razem próbujemy rozmów wideo, na Państwa urządzeniu lub na naszym."),
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
    "Fotos machen, ordnen und teilen": {
        "de-x-ls": ("Fotos mit dem Handy", "Sie lernen: Schöne Fotos machen. Fotos ordnen. Fotos sicher schicken."),
        "en": ("Taking, sorting and sharing photos", "Good photos with your phone, making albums, sharing pictures "
               "safely."),
        "tr": ("Fotoğraf çekmek, düzenlemek ve paylaşmak", "Telefonla güzel fotoğraflar, albüm oluşturmak, "
               "fotoğrafları güvenle paylaşmak."),
        "ar": ("التقاط الصور وترتيبها ومشاركتها", "صور جميلة بالهاتف، وإنشاء ألبومات، ومشاركة الصور بأمان."),
        "uk": ("Фотографувати, упорядковувати й ділитися", "Гарні фото телефоном, альбоми, безпечно ділитися "
               "знімками."),
    },
    "Passwörter und Privatsphäre": {
        "de-x-ls": ("Passwörter und Ihre Daten", "Sie lernen: Gute Passwörter machen. Ihre Daten im Handy schützen."),
        "en": ("Passwords and privacy", "Good passwords, password managers and the most important settings for more "
               "privacy."),
        "tr": ("Şifreler ve gizlilik", "İyi şifreler, şifre yöneticileri ve daha fazla gizlilik için en önemli "
               "ayarlar."),
        "ar": ("كلمات المرور والخصوصية", "كلمات مرور جيدة، ومديرو كلمات المرور، وأهم الإعدادات لمزيد من الخصوصية."),
        "uk": ("Паролі та приватність", ""),
        "ru": ("Пароли и конфиденциальность", ""),
    },
    "KI im Alltag ausprobieren": {
        "de-x-ls": ("Künstliche Intelligenz ausprobieren", "Künstliche Intelligenz heißt kurz: KI. KI sind "
                    "Computer-Programme. Sie können zum Beispiel Texte schreiben. Wir probieren KI zusammen aus."),
        "en": ("Trying out AI in everyday life", "What can AI tools do, and what not? We try it out together."),
        "tr": ("Günlük hayatta yapay zekâ", "Yapay zekâ araçları neler yapabilir, neler yapamaz? Birlikte deniyoruz."),
        "ar": ("تجربة الذكاء الاصطناعي في الحياة اليومية", "ماذا تستطيع أدوات الذكاء الاصطناعي أن تفعل، وماذا لا "
               "تستطيع؟ نجرّب ذلك معًا."),
    },
    "Messenger for newcomers": {
        "de": ("Messenger für Neue in der Stadt", "Messenger, E-Mail und die Apps der Stadt, auf Englisch erklärt, "
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

# Access notes in other languages, by the German note.
ACCESS_TEXTS = {
    "Stufenloser Einstieg über die Hebebühne. Leihgeräte mit großer Schrift.": {
        "de-x-ls": "Sie kommen ohne Stufen in den Bus. Es gibt einen Lift. Wir leihen Ihnen Handys mit großer Schrift.",
        "en": "Step-free entry by the lift. Loan devices with large text.",
        "tr": "Asansör platformuyla basamaksız giriş. Büyük yazılı ödünç cihazlar.",
        "ar": "دخول بلا درج عبر منصة الرفع. أجهزة للإعارة بخط كبير.",
        "uk": "Вхід без сходинок через підйомник. Пристрої напрокат із великим шрифтом.",
    },
    "Kopfhörer mit Induktionsschleife vorhanden.": {
        "en": "Headphones with a hearing loop are there.", "tr": "İndüksiyon döngülü kulaklıklar var.",
        "ar": "تتوفر سماعات مع حلقة سمعية.", "uk": "Є навушники з індукційною петлею.",
    },
    "Unterstützung auf Türkisch, Arabisch und Ukrainisch möglich.": {
        "de-x-ls": "Wir helfen Ihnen auch auf Türkisch, auf Arabisch und auf Ukrainisch.",
        "en": "Help in Turkish, Arabic and Ukrainian is possible.",
        "tr": "Türkçe, Arapça ve Ukraynaca destek mümkün.", "ar": "المساعدة ممكنة بالتركية والعربية والأوكرانية.",
        "uk": "Можлива допомога турецькою, арабською та українською мовами.",
        "ru": "Возможна помощь на турецком, арабском и украинском языках.",
        "pl": "Możliwa pomoc po turecku, arabsku i ukraińsku.", "fa": "کمک به زبان‌های ترکی، عربی و اوکراینی ممکن است.",
    },
}

# A workshop cancelled on its own (a trainer ill), with its reason in a few languages: the coordinators' languages
# page lists the others as missing.
WORKSHOP_CANCEL_REASON = "Die Trainerin ist krank. Wir holen den Kurs bald nach."
WORKSHOP_CANCEL_REASON_TEXTS = {
    "en": "The trainer is ill. We will hold the workshop again soon.",
    "tr": "Eğitmenimiz hasta. Atölyeyi yakında tekrar yapacağız.",
    "ar": "المدرّبة مريضة. سنعقد الورشة مرة أخرى قريبًا.",
}

SLOTS = ((time(10, 0), time(13, 0)), (time(14, 30), time(17, 30)))

# Level and what to bring, by topic (the rest: first steps, and the default list).
LEVELS = {"online_banking": "some_experience", "fake_news": "some_experience", "ai_tools": "some_experience",
          "passwords": "some_experience"}
BRING_DEFAULT = "Ihr Handy und das Ladekabel, Ihre Brille"
BRING = {
    "online_banking": "Ihr Handy und das Ladekabel, die Zugangsdaten zu Ihrem Online-Banking, Ihre Brille",
    "city_services": "Ihr Handy, Ihren Ausweis, die Passwörter für Ihre Konten",
    "passwords": "Ihr Handy und das Ladekabel, die Passwörter für Ihre Konten",
    "messengers": "Ihr Handy und das Ladekabel, die Passwörter für Ihre Konten",
}
# "Please bring" in other languages, by the German text; a workshop held in another language has its own
# language's text as its own and the German one among its translations.
BRING_TEXTS = {
    BRING_DEFAULT: {
        "de-x-ls": "Ihr Handy und das Lade-Kabel. Ihre Brille.",
        "en": "Your phone and charger, your glasses", "tr": "Telefonunuz ve şarj kablosu, gözlüğünüz",
        "ar": "هاتفك وشاحنه، ونظارتك", "uk": "Ваш телефон і зарядний кабель, ваші окуляри",
        "ru": "Ваш телефон и зарядный кабель, ваши очки", "pl": "Telefon z ładowarką, okulary",
        "fa": "گوشی و کابل شارژ، عینکتان",
    },
    BRING["online_banking"]: {
        "de-x-ls": "Ihr Handy und das Lade-Kabel. Ihre Daten für die Bank im Internet. Ihre Brille.",
        "en": "Your phone and charger, your online banking login details, your glasses",
        "tr": "Telefonunuz ve şarj kablosu, internet bankacılığı giriş bilgileriniz, gözlüğünüz",
        "ar": "هاتفك وشاحنه، وبيانات الدخول إلى حسابك المصرفي على الإنترنت، ونظارتك",
        "uk": "Ваш телефон і зарядний кабель, дані для входу в онлайн-банкінг, ваші окуляри",
    },
    BRING["city_services"]: {
        "de-x-ls": "Ihr Handy. Ihren Ausweis. Die Passwörter für Ihre Konten.",
        "en": "Your phone, your ID card, the passwords for your accounts",
        "tr": "Telefonunuz, kimliğiniz, hesaplarınızın şifreleri", "ar": "هاتفك، وبطاقة هويتك، وكلمات المرور لحساباتك",
        "uk": "Ваш телефон, посвідчення особи, паролі до ваших облікових записів",
        "ru": "Ваш телефон, удостоверение личности, пароли от ваших аккаунтов",
        "fa": "گوشی، کارت شناسایی و رمزهای حساب‌هایتان",
    },
    BRING["passwords"]: {
        "en": "Your phone and charger, the passwords for your accounts",
        "tr": "Telefonunuz ve şarj kablosu, hesaplarınızın şifreleri", "ar": "هاتفك وشاحنه، وكلمات المرور لحساباتك",
        "uk": "Ваш телефон і зарядний кабель, паролі до ваших облікових записів",
    },
}


def course_texts(title: str, language: str, topic: str, description: str) -> tuple[dict, dict]:
    """A demo course's own texts in its language ({title, description, what_to_bring}) and its texts in other
    languages ({tag: {field: text}}), from WORKSHOP_TEXTS and BRING_TEXTS."""
    bring_de = BRING.get(topic, BRING_DEFAULT)
    bring = {"de": bring_de} | BRING_TEXTS.get(bring_de, {})
    own = {"title": title, "description": description, "what_to_bring": bring.get(language, bring_de)}
    texts: dict = {}
    for tag, (other_title, other_desc) in WORKSHOP_TEXTS.get(title, {}).items():
        texts[tag] = {"title": other_title, "description": other_desc}
    for tag, text in bring.items():
        if tag != language:
            texts.setdefault(tag, {})["what_to_bring"] = text
    texts = {tag: {k: v for k, v in entry.items() if v} for tag, entry in texts.items()}
    return own, {tag: entry for tag, entry in texts.items() if entry}


# Notes for finding the bus in other languages, by the German note (a profile's demo.json uses these sentences).
FINDING_NOTE_TEXTS = {
    "Der Bus steht an der Seite zum Rathaus.": {
        "de-x-ls": "Der Bus steht neben dem Rathaus.",
        "en": "The bus stands on the town hall side.", "tr": "Otobüs belediye binası tarafında duruyor.",
        "ar": "تقف الحافلة في الجهة المقابلة لمبنى البلدية.", "uk": "Автобус стоїть з боку ратуші.",
        "ru": "Автобус стоит со стороны ратуши.", "pl": "Autobus stoi od strony ratusza.",
        "fa": "اتوبوس در سمت ساختمان شهرداری ایستاده است.",
    },
    "Der Bus steht vor dem Haupteingang. Die Toilette ist im Haus, gleich links.": {
        "de-x-ls": "Der Bus steht vor dem großen Eingang. Die Toilette ist im Haus. Gehen Sie rein und dann links.",
        "en": "The bus stands in front of the main entrance. The toilet is inside, on the left.",
        "tr": "Otobüs ana girişin önünde duruyor. Tuvalet binanın içinde, hemen solda.",
        "ar": "تقف الحافلة أمام المدخل الرئيسي. المرحاض داخل المبنى، على اليسار مباشرة.",
        "uk": "Автобус стоїть перед головним входом. Туалет у будинку, одразу ліворуч.",
    },
    "Der Bus steht auf dem Platz. Zum Einstieg gibt es eine Hebebühne.": {
        "de-x-ls": "Der Bus steht auf dem Platz. Es gibt einen Lift in den Bus.",
        "en": "The bus stands on the square. There is a lift to get in.",
        "tr": "Otobüs meydanda duruyor. Binmek için bir asansör platformu var.",
        "ar": "تقف الحافلة في الساحة. توجد منصة رفع للصعود.",
        "fa": "اتوبوس در میدان ایستاده است. برای سوار شدن یک بالابر هست.",
    },
}

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


def _districts() -> tuple[list[District], list[Place]]:
    """The profile's districts, each with its demo places (added to the session)."""
    from ..planning.tourcsv import slug_for

    profile = current_app.config["TOWN_PROFILE"]
    rows = districtfile.read(profile.districts_file)
    demo = json.loads(profile.demo_file.read_text(encoding="utf-8")) if profile.demo_file else {}
    listed = demo.get("places", {})
    districts, places, slugs = [], [], set()
    for row in rows:
        d = District(number=row.number, name=row.name, slug=row.slug or slug_for(row.name, slugs), lat=row.lat,
                     lon=row.lon, boundary=row.boundary)
        slugs.add(d.slug)
        d.places = [_place(d, p) for p in listed.get(row.number) or [_meeting_point(row)]]
        places += d.places
        districts.append(d)
        db.session.add(d)
    return districts, places


def _meeting_point(row: districtfile.DistrictRow) -> dict:
    """An example place at the district's centre, for a profile whose demo.json names none there."""
    return {"name": f"Treffpunkt {row.name}", "lat": row.lat, "lon": row.lon,
            "note": "Der Bus steht an der Seite zum Rathaus."}


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=town.zone())


def clear() -> None:
    """Delete every row of the tour, its bookings and feedback (accounts stay unless asked)."""
    from ..participation import models as mitreden

    for model in (mitreden.Support, mitreden.Idea, mitreden.Choice, mitreden.Contribution, mitreden.Question,
                  mitreden.Consultation):
        db.session.execute(sa.delete(model))
    for model in (Feedback, Booking, Workshop, Stop, Place, District, Course, RateCounter):
        db.session.execute(sa.delete(model))


def load(today: date | None = None, weeks: int = 6, with_users: bool = True) -> dict[str, int]:
    """Replace the tour with demo data starting a few days before `today`; returns counts."""
    today = today or datetime.now(town.zone()).date()
    clear()
    districts, places = _districts()

    # The course catalogue first: each demo workshop is made from its course, so a coordinator can plan from it too.
    courses: dict[str, Course] = {}
    for topic, title, audience, lang, minutes, capacity, desc, _notes in WORKSHOPS:
        if title not in courses:
            own, texts = course_texts(title, lang, topic, desc)
            courses[title] = Course(topic=topic, audience=audience, language=lang, duration_minutes=minutes,
                                    capacity=capacity, level=LEVELS.get(topic, "first_steps"),
                                    walk_ins=capacity >= 10, texts=texts, **own)
            db.session.add(courses[title])

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
                    for lang, reason in CANCEL_REASON_TEXTS.items():
                        set_text(stop, lang, cancel_reason=reason)
                    stop.sequence = 1
                if day > today + timedelta(weeks=weeks - 1) and n % 2:
                    stop.status = StopStatus.DRAFT  # the coordinators are still planning these
                db.session.add(stop)
                stops += 1
                per_stop = 2 + (n % 2)
                free = stop.starts_at  # the bus is free from here on
                for k in range(per_stop):
                    topic, title, audience, lang, minutes, capacity, desc, notes = WORKSHOPS[(n * 3 + k) % len(WORKSHOPS)]
                    # One workshop after the other, as the planning rules ask; one that no longer fits into the
                    # stop is held in parallel by a second trainer, as coordinators mark such workshops.
                    starts = free
                    parallel = starts + timedelta(minutes=minutes) > stop.ends_at
                    if parallel:
                        starts = min(stop.starts_at + timedelta(minutes=60 * k),
                                     stop.ends_at - timedelta(minutes=minutes))
                    else:
                        free = starts + timedelta(minutes=minutes + 15)
                    # Made from its course as a coordinator does: the course's texts in every language come along.
                    course = courses[title]
                    workshop = Workshop(
                        stop=stop, title=title, topic=topic, audience=audience, language=lang,
                        duration_minutes=minutes, capacity=capacity, description=course.description,
                        accessibility_notes=notes, starts_at=starts, parallel=parallel,
                        level=LEVELS.get(topic, "first_steps"), bring=course.what_to_bring,
                        walk_ins=capacity >= 10,
                        texts={tag: {COURSE_TO_WORKSHOP[k]: v for k, v in entry.items()}
                               for tag, entry in course.texts.items()},
                    )
                    for text_lang, text in ACCESS_TEXTS.get(notes, {}).items():
                        set_text(workshop, text_lang, accessibility_notes=text)
                    if n == 20 and k == 0:
                        workshop.status = WorkshopStatus.CANCELLED
                        workshop.cancel_reason = WORKSHOP_CANCEL_REASON
                        for text_lang, reason in WORKSHOP_CANCEL_REASON_TEXTS.items():
                            set_text(workshop, text_lang, cancel_reason=reason)
                    db.session.add(workshop)
                    workshops += 1
                n += 1
        day += timedelta(days=1)

    db.session.flush()
    _add_feedback(today)
    _add_consultation(today, districts)
    if with_users:
        _demo_users()
    db.session.add(AuditEvent(action="seed-demo", detail={"stops": stops, "workshops": workshops}))
    db.session.commit()
    return {"districts": len(districts), "places": len(places), "stops": stops, "workshops": workshops}


def _place(district: District, row: dict) -> Place:
    """A demo place from the profile's demo.json, marked as an example on every page."""
    note = row.get("note", "")
    place = Place(
        district=district, name=row["name"], address=row.get("street", ""), postcode=row.get("postcode", ""),
        lat=row.get("lat"), lon=row.get("lon"), transit_stop=row.get("transit_stop", ""),
        transit_lines=row.get("transit_lines", ""), step_free=row.get("step_free"), seats=row.get("seats"),
        toilet=row.get("toilet"), hearing_loop=row.get("hearing_loop"), finding_note=note, is_example=True,
    )
    for lang, text in FINDING_NOTE_TEXTS.get(note, {}).items():
        set_text(place, lang, finding_note=text)
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


MITREDEN_IDEAS = (
    # text, topic, published, status, answer
    ("Termine beim Bürgeramt online buchen, aber auch am Telefon.", "Verwaltung online", True, "taken",
     "Das nehmen wir in die Strategie auf: Online-Termine und das Telefon bleiben beide."),
    ("Kostenloses WLAN in der Stadtteilbücherei.", "Lernen und Hilfe", True, "review",
     "Wir prüfen das mit den Büchereien."),
    ("Formulare sollen weiter auf Papier zu haben sein.", "Offline bleiben", True, "not_possible",
     "Nicht möglich, weil einige Bundesformulare nur noch online angeboten werden. Der Bus hilft beim Ausfüllen."),
    ("Mehr Kurse für Ältere am Nachmittag.", "Lernen und Hilfe", True, "received", ""),
    ("Ruft mich an: 0170 1234567", "", False, "received", ""),
)


def _add_consultation(today: date, districts: list[District]) -> None:
    """One running Mitreden consultation with answers, published ideas and the city's answers."""
    from ..participation.models import (
        Channel,
        Choice,
        Consultation,
        Contribution,
        Idea,
        IdeaStatus,
        Moderation,
        Question,
        QuestionKind,
    )
    from ..participation.service import flag_for

    name = current_app.config["TOWN_PROFILE"].name
    consultation = Consultation(
        title=f"{name.pick('de')} digital: Was soll einfacher werden?",
        intro="Die Stadt schreibt ihre Digitalstrategie. Sagen Sie uns, was in Ihrem Stadtteil digital einfacher "
              "werden soll und was offline bleiben muss.",
        idea_question="Was soll in Ihrem Stadtteil digital einfacher werden?",
        texts={"en": {"title": f"Digital {name.pick('en')}: what should become easier?",
                      "intro": "The city is writing its digital strategy. Tell us what should become easier online "
                               "in your district and what must stay offline.",
                      "idea_question": "What should become digitally easier in your district?"}},
        starts_at=_at(today - timedelta(days=7), time(0)), ends_at=_at(today + timedelta(days=28), time(0)),
        district_ids=[d.id for d in districts[:4]], topics=["Verwaltung online", "Lernen und Hilfe", "Offline bleiben"],
    )
    consultation.questions = [
        Question(position=0, kind=QuestionKind.SINGLE, text="Wie erledigen Sie Behördensachen am liebsten?",
                 options=["Online", "Am Telefon", "Vor Ort"],
                 texts={"en": {"text": "How do you prefer to deal with the authorities?",
                               "options": ["Online", "By phone", "In person"]}}),
        Question(position=1, kind=QuestionKind.MULTIPLE, text="Wobei brauchen Sie Hilfe?",
                 options=["Online-Banking", "Termine buchen", "Videotelefonie", "Sicherheit"],
                 texts={"en": {"text": "What do you need help with?",
                               "options": ["Online banking", "Booking appointments", "Video calls", "Safety"]}}),
        Question(position=2, kind=QuestionKind.SCALE, text="Wie sicher fühlen Sie sich im Internet? (1 bis 5)",
                 texts={"en": {"text": "How safe do you feel online? (1 to 5)"}}),
    ]
    db.session.add(consultation)
    db.session.flush()
    single, multiple, scale = consultation.questions
    # Answers at the stop codes, the station and on paper were given at stops of the period that are over.
    district_ids = consultation.district_ids
    stops = [stop for stop in db.session.scalars(
        sa.select(Stop).where(Stop.starts_at >= consultation.starts_at, Stop.ends_at <= _at(today, time(0)),
                              Stop.status == StopStatus.PUBLISHED).order_by(Stop.starts_at))
        if stop.district_id in district_ids]
    ages, internet = ("65_79", "30_49", "80_plus", "50_64", "18_29"), ("daily", "rarely", "never", "daily", "rarely")
    channels = (Channel.PHONE, Channel.STATION, Channel.PAPER, Channel.STATION, Channel.PHONE)
    for n in range(15):
        contribution = Contribution(
            consultation_id=consultation.id, channel=channels[n % 5], age_group=ages[n % 5] if n % 7 else "",
            district_id=district_ids[n % len(district_ids)] if n % 6 else None, internet=internet[n % 5],
            idempotency_key=f"demo-mitreden-{n}", created_at=consultation.starts_at + timedelta(hours=5 + 9 * n),
            stop_id=stops[n % len(stops)].id if stops and n % 3 else None,
        )
        contribution.choices = [Choice(question_id=single.id, value=n % 3),
                                Choice(question_id=multiple.id, value=n % 4),
                                Choice(question_id=multiple.id, value=(n + 1) % 4),
                                Choice(question_id=scale.id, value=1 + n % 5)]
        db.session.add(contribution)
        if n < len(MITREDEN_IDEAS):
            text, topic, published, status, answer = MITREDEN_IDEAS[n]
            db.session.add(Idea(
                consultation=consultation, contribution=contribution, text=text, topic=topic, flag=flag_for(text),
                moderation=Moderation.PUBLISHED if published else Moderation.NEW, status=IdeaStatus(status),
                answer=answer, supports=(7 - n) if published else 0,
            ))
    # An idea written in Turkish, answered in Turkish too; one said twice, merged into the first; one corrected.
    db.session.flush()
    first = db.session.scalars(sa.select(Idea).where(Idea.consultation_id == consultation.id).order_by(Idea.id)).first()
    turkish = Idea(consultation=consultation, text="Belediye formları Türkçe de olsun.", topic="Verwaltung online",
                   locale="tr", moderation=Moderation.PUBLISHED, status=IdeaStatus.REVIEW, supports=3,
                   answer="Wir prüfen, welche Formulare es auch auf Türkisch geben kann.",
                   answer_texts={"tr": "Hangi formların Türkçe de sunulabileceğini inceliyoruz."})
    said_twice = Idea(consultation=consultation, text="Termine online buchen können!", topic="Verwaltung online",
                      moderation=Moderation.HIDDEN, hidden_reason="duplicate", merged_into_id=first.id)
    corrected = Idea(consultation=consultation, text="Mehr Hilfe beim Online-Banking, am liebsten vormittags.",
                     topic="Lernen und Hilfe", moderation=Moderation.PUBLISHED, supports=2,
                     correction_note="Rechtschreibung korrigiert", corrected_at=consultation.starts_at + timedelta(days=2))
    db.session.add_all([turkish, said_twice, corrected])


def is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(District)) == 0


# A synthetic tour for measuring: one bus per district, two visits every weekday, spread evenly over past and future
# years. Rows go in with bulk INSERTs (one statement per few thousand rows), because a 100,000-stop tour built one
# ORM object at a time takes minutes.
LARGE_SLOTS = ((time(9, 0), time(12, 0)), (time(14, 0), time(17, 0)))
LARGE_CHUNK = 5000


def load_large(stops: int, today: date | None = None, with_users: bool = True) -> dict[str, int]:
    """Replace the tour with `stops` published stops (two workshops each), half before `today`, half after it."""
    if stops < 1:
        raise ValueError("stops must be at least 1")
    today = today or datetime.now(town.zone()).date()
    clear()
    # Districts and their few places as objects; the many stops and workshops as bulk INSERTs.
    districts, places = _districts()
    db.session.flush()
    per_day = len(districts) * len(LARGE_SLOTS)
    # Weekdays needed, half of them before today (so even a small tour has visits that are over).
    weekdays = -(-stops // per_day)
    first, back = today, max(1, weekdays // 2)
    while back:
        first -= timedelta(days=1)
        back -= first.weekday() < 5
    now = datetime.now(town.zone())

    def stop_rows():
        n, day = 0, first
        while n < stops:
            if day.weekday() < 5:
                for slot, (start, end) in enumerate(LARGE_SLOTS):
                    for district in districts:
                        if n >= stops:
                            return
                        place = district.places[(day.toordinal() + slot) % len(district.places)]
                        starts, ends = _at(day, start), _at(day, end)
                        cancelled = n % 97 == 13
                        yield {
                            "district_id": district.id, "place_id": place.id, "starts_at": starts, "ends_at": ends,
                            "status": StopStatus.CANCELLED if cancelled else StopStatus.PUBLISHED,
                            "cancel_reason": "Der Bus ist in der Werkstatt." if cancelled else "",
                            "live_status": LiveStatus.LEFT if ends < now else LiveStatus.SCHEDULED,
                            "live_note": "", "sequence": 1 if cancelled else 0,
                            "created_at": now, "updated_at": now,
                        }
                        n += 1
            day += timedelta(days=1)

    made = workshops = 0
    batch: list[dict] = []
    for row in stop_rows():
        batch.append(row)
        if len(batch) == LARGE_CHUNK:
            workshops += _insert_large_batch(batch, made, now)
            made += len(batch)
            batch = []
    if batch:
        workshops += _insert_large_batch(batch, made, now)
        made += len(batch)

    if with_users:
        _demo_users()
    db.session.add(AuditEvent(action="seed-demo", detail={"stops": made, "workshops": workshops, "synthetic": True}))
    db.session.commit()
    return {"districts": len(districts), "places": len(places), "stops": made, "workshops": workshops}


def _insert_large_batch(batch: list[dict], offset: int, now: datetime) -> int:
    """Insert a batch of stops, then two workshops for each; returns the number of workshops."""
    ids = db.session.scalars(
        sa.insert(Stop).returning(Stop.id, sort_by_parameter_order=True), batch
    ).all()
    workshop_rows = []
    for i, (stop_id, stop) in enumerate(zip(ids, batch)):
        for k in range(2):
            topic, title, audience, lang, minutes, capacity, desc, notes = WORKSHOPS[(offset + i + 3 * k) % len(WORKSHOPS)]
            starts = stop["starts_at"] + timedelta(minutes=90 * k)
            workshop_rows.append({
                "stop_id": stop_id, "title": title, "topic": topic, "description": desc, "language": lang,
                "audience": audience, "starts_at": starts, "duration_minutes": minutes, "capacity": capacity,
                "seats_taken": 0, "accessibility_notes": notes, "status": WorkshopStatus.PUBLISHED,
                "created_at": now, "updated_at": now,
            })
    db.session.execute(sa.insert(Workshop), workshop_rows)
    return len(workshop_rows)


def _demo_users() -> None:
    for email, role, password in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role=Role(role))
            db.session.add(user)
        user.active = True
        user.set_password(password)
