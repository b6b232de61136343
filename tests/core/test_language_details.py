"""Details that make a page read right in its language: titles in the page's language, dates joined the language's
way, numbers and addresses kept in their order on right-to-left pages, plurals by the number they count, and the
24-hour clock in English."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask_babel import force_locale

from busapp.core import townprofile
from busapp.core.extensions import db
from busapp.core.i18n import weekday_at
from busapp.models import Workshop


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _title(page: str) -> str:
    return re.search(r"<title>([^<]*)</title>", page).group(1)


def test_the_booking_form_title_is_in_the_page_language(client, make_workshop):
    workshop = make_workshop(title="Das Smartphone kennenlernen", texts={"ar": {"title": "التعرف على الهاتف الذكي"}})
    title = _title(_page(client, f"/workshops/{workshop.id}/book?lang=ar"))
    assert "التعرف على الهاتف الذكي" in title and "Das Smartphone" not in title


def test_free_seats_pick_their_plural_by_the_free_seats(client, make_workshop):
    workshop = make_workshop(capacity=8)
    assert "8 مقاعد شاغرة من 8" in _page(client, f"/s/{workshop.stop_id}?lang=ar")  # 8 is "few" in Arabic
    assert "8 wolnych miejsc z 8" in _page(client, f"/s/{workshop.stop_id}?lang=pl")
    db.session.execute(db.update(Workshop).where(Workshop.id == workshop.id).values(seats_taken=6))
    db.session.commit()
    assert "2 wolne miejsca z 8" in _page(client, f"/s/{workshop.stop_id}?lang=pl")
    assert "2 مقعدان شاغران من 8" in _page(client, f"/s/{workshop.stop_id}?lang=ar")
    assert "2 von 8 Plätzen frei" in _page(client, f"/s/{workshop.stop_id}")


def test_dates_and_times_are_joined_the_language_s_way(app):
    moment = datetime(2026, 12, 8, 13, 30, tzinfo=timezone.utc)
    with app.test_request_context("/"):
        with force_locale("ar"):
            arabic = weekday_at(moment)
        with force_locale("de"):
            german = weekday_at(moment)
        with force_locale("en"):
            english = weekday_at(moment, moment.replace(hour=15))
    assert "، " in arabic and ", " not in arabic, arabic
    assert german == "Dienstag, 8. Dezember, 14:30"
    assert english == "Tuesday, December 8, 14:30–16:30"  # a German public service's English: 24-hour clock


def test_english_pages_use_the_24_hour_clock(client, make_stop, now):
    stop = make_stop(starts_at=now.replace(hour=13, minute=0, second=0, microsecond=0) + timedelta(days=2))
    page = _page(client, f"/s/{stop.id}?lang=en")
    assert re.search(r">1[45]:00<", page), "a stop in the afternoon shows 14:00 or 15:00 (summer/winter time)"
    assert not re.search(r"\d[\s\u202f]?[AP]M\b", page)


def test_addresses_and_phone_numbers_keep_their_order_on_right_to_left_pages(client, app, make_workshop,
                                                                           make_stop):
    app.config["TEAM_PHONE"] = "0451 000000 (Beispiel)"
    workshop = make_workshop(stop=make_stop(place="Kolberger Platz", address="Kolberger Platz 1", postcode="23552"))
    page = _page(client, f"/s/{workshop.stop_id}?lang=ar")
    assert "<bdi>23552 " in page and "<bdi>Kolberger Platz 1</bdi>" in page
    assert re.search(r'<a class="team-phone__number" href="tel:[^"]+" dir="ltr">0451 000000 \(Beispiel\)</a>', page)


def test_arabic_pages_use_the_arabic_comma(client, make_workshop, now):
    workshop = make_workshop()
    page = _page(client, f"/workshops/{workshop.id}/book?lang=ar")
    eyebrow = re.search(r'<p class="eyebrow"><a [^>]*>(.*?)</a>', page).group(1)
    assert "</bdi>، " in eyebrow and ", " not in eyebrow


# Translations that said something else than the source: "we move you forward in the queue" for "you get the seat",
# "works only with a keyboard" for "works with the keyboard alone", an earphone for a hearing aid, "the father" for
# a parent, "you are offline" where the German says "no internet", a route or a tourist tour for the schedule.
WRONG = {
    "tr": ["öne alırız", "öne alındınız", "yalnızca klavyeyle çalışır", "Tur programı", "tur programı"],
    "uk": ["перемістимо вас вперед", "лише з клавіатурою", "Ви офлайн", "Батькам"],
    "ru": ["передвинем вас вперёд", "только с клавиатурой", "Вы офлайн"],
    "pl": ["przesuniemy Cię do przodu", "Jesteś offline", "Trasa autobusu"],
    "fa": ["جلو می‌بریم", "فقط با صفحه‌کلید کار می‌کند", "شما آفلاین هستید", "برنامه سفر"],
    "ar": ["ننقلك إلى الأمام", "سماعة أذن", "الوالد مع", "لا يوجد وصول"],
    "de-x-ls": ["haben wir uns bei Ihnen gemeldet"],  # the person told us, not we them
}


def test_persian_buttons_ask_politely():
    from busapp.core.translations import load

    informal = [m.string for m in load("fa") if isinstance(m.string, str)
                and re.search(r"(^|\s)(رزرو کن|حذف کن|بفرست|ببین|نشان بده|لغو کن|پاک کن)$", m.string)]
    assert not informal, informal


# A gendered ending in brackets ("прочитал(а)", "согласен(на)", "прочитав(-ла)", "Przeczytałem(-am)") reads as a
# form to fill in; the consent and every other line use a wording that fits anyone instead.
BRACKETED_ENDING = re.compile(r"[^\W\d_]\(-?[^\W\d_]{1,3}\)")


def test_no_catalogue_writes_a_gendered_ending_in_brackets():
    from busapp.core.translations import load

    found = []
    for tag in ("tr", "uk", "ar", "pl", "ru", "fa", "de", "de@ls"):
        for message in load(tag):
            strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            found += [(tag, s) for s in strings if s and BRACKETED_ENDING.search(s)]
    assert not found, found
    assert all(BRACKETED_ENDING.search(s) for s in ("Я прочитал(а)", "согласен(на)", "прочитав(-ла)",
                                                     "Przeczytałem(-am)", "byłeś(-aś)"))
    assert not BRACKETED_ENDING.search("Art. 6 (1) (a) DSGVO")


def test_seat_counts_read_naturally_in_slavic_languages():
    """The number leads into its noun ("Для вас забронировано 2 места"), never "Ваше 1 место"."""
    from busapp.core.translations import load

    wrong = {"ru": ("Ваше %(num)d", "Ваши %(num)d"), "uk": ("Ваше %(num)d", "Ваші %(num)d"),
             "pl": ("Państwa %(num)d",)}
    found = []
    for tag, starts in wrong.items():
        for message in load(tag):
            strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            found += [(tag, s) for s in strings if s and s.startswith(starts)]
    assert not found, found


def test_catalogues_no_longer_say_what_the_source_does_not():
    from busapp.core.translations import load

    found = []
    for tag, phrases in WRONG.items():
        for message in load(tag):
            strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            found += [(tag, p, message.id) for s in strings if s for p in phrases if p in s]
    assert not found, found


def test_leichte_sprache_writes_uhr_after_a_time(app):
    moment = datetime(2026, 12, 8, 13, 30, tzinfo=timezone.utc)
    with app.test_request_context("/"):
        with force_locale("de@ls"):
            assert weekday_at(moment) == "Dienstag, 8. Dezember, 14:30 Uhr"
        with force_locale("de"):
            assert weekday_at(moment) == "Dienstag, 8. Dezember, 14:30"


def test_leichte_sprache_says_uhr_once_where_a_sentence_names_a_time(client, make_stop, now):
    """A time comes with its "Uhr" already (|time), so no sentence of the catalogue adds another."""
    from busapp.core.translations import load

    doubled = [m.string for m in load("de@ls") if isinstance(m.string, str) and re.search(r"%\(\w+\)s Uhr", m.string)]
    assert not doubled, doubled
    tomorrow = make_stop()
    closed = _page(client, f"/f/{tomorrow.id}?lang=de-x-ls")
    assert re.search(r"Sie können ab [^<]*\d\d:\d\d Uhr Ihre Meinung sagen", closed) and "Uhr Uhr" not in closed
    today = make_stop(starts_at=now, live_updated_at=now)  # going on now: its live line shows when it was updated
    assert re.search(r"Stand: \d\d:\d\d Uhr<", _page(client, f"/s/{today.id}?lang=de-x-ls"))


def test_what_to_bring_in_the_page_language_else_german_marked_as_german(client, make_workshop):
    workshop = make_workshop(bring="Ihr Handy und das Ladekabel", texts={"tr": {"bring": "Telefonunuz ve şarj kablosu"}})
    turkish = _page(client, f"/s/{workshop.stop_id}?lang=tr")
    assert re.search(r'<dd lang="tr" dir="ltr">Telefonunuz ve şarj kablosu</dd>', turkish)
    arabic = _page(client, f"/workshops/{workshop.id}/book?lang=ar")
    assert re.search(r'<dd lang="de" dir="ltr">Ihr Handy und das Ladekabel</dd>', arabic)


def test_leichte_sprache_splits_and_explains_law_names_and_hard_words():
    from babel.messages.pofile import read_po

    with open("translations/de@ls/LC_MESSAGES/messages.po", "rb") as fh:
        strings = [m.string for m in read_po(fh) if m.id and isinstance(m.string, str) and m.string]
    text = "\n".join(strings)
    # Long compound law names are split with hyphens and their abbreviations said as such; the state's law is the
    # town's (its profile's Leichte Sprache text, here Lübeck's), the European rules the catalogue's.
    law = townprofile.load("luebeck").law.pick("de-x-ls")
    assert "Landesbehindertengleichstellungsgesetz" not in text + law
    assert "Landes-Behinderten-Gleichstellungs-Gesetz. Die Abkürzung ist: LBGG." in law
    assert "Eine Verordnung ist eine Regel von der Regierung." in law and "Die Norm heißt: EN 301 549." in text
    # 'Abonnieren' is said in plain words; the topics' foreign words come with an explanation.
    assert "bonnier" not in text
    assert "Sicheres Online-Banking (Bank-Geschäfte im Internet)" in strings
    assert "Künstliche Intelligenz im Alltag (kluge Computer-Programme)" in strings


def test_the_walk_in_line_asks_its_question_in_every_language(client, make_workshop):
    """'Without booking: Only with a booking.' read as a contradiction; the label is now the question it answers."""
    workshop = make_workshop(walk_ins=False)
    for tag in ("de", "en", "de-x-ls", "tr", "uk", "ar", "pl", "ru", "fa"):
        page = _page(client, f"/s/{workshop.stop_id}?lang={tag}")
        labels = re.findall(r"<dt>([^<]*[?؟])</dt>", page)
        assert len(labels) == 1, (tag, labels)
    assert "<dt>Ohne Buchung kommen?</dt><dd>Nur mit Buchung.</dd>" in _page(client, f"/s/{workshop.stop_id}?lang=de")
