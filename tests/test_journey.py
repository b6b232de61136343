"""Residents' journey: a ticket nobody loses (my bookings, find my booking, share and print, calendar entries
that help, giving back a seat, the reminder mail) and the bus team's phone number."""
from __future__ import annotations

import re
from pathlib import Path
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from busapp.booking import service
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, OutgoingMail
from tests.booking.test_booking import EN, book, bookings, token_of

BERLIN = ZoneInfo("Europe/Berlin")


def page(response) -> str:
    return response.get_data(as_text=True)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


# 1. My bookings on this phone ------------------------------------------------------------------------------------

def test_my_bookings_is_on_the_home_page_and_in_the_menu_and_kept_offline(client, app):
    home = page(client.get("/", headers=EN))
    assert home.count('href="/my-bookings"') >= 2  # the menu and the entry on the home page
    mine = client.get("/my-bookings", headers=EN)
    assert mine.status_code == 200
    assert 'id="my-bookings"' in page(mine) and 'href="/find"' in page(mine)
    from busapp.pwa import views as pwa

    assert any(re.search(p, "/my-bookings") for p in pwa.OFFLINE_PAGES)
    # The script finds tickets under the path the app's URL map gives, not one written into the script.
    paths = re.search(r"<meta name=\"pwa-paths\" id=\"pwa-paths\" content='([^']+)'", home).group(1)
    assert '"ticket": "/t/"' in paths
    worker = page(client.get("/sw.js"))
    assert '"ticketPrefix": "/t/"' in worker and 'startsWith("/t/")' not in worker


# 2. Find my booking ----------------------------------------------------------------------------------------------

def find(client, code: str, name: str):
    token = csrf_of(page(client.get("/find")))
    return client.post("/find", data={"csrf_token": token, "code": code, "name": name}, headers=EN)


def test_find_my_booking_by_code_and_name(client, make_workshop):
    token = token_of(book(client, make_workshop().id, name="Erika Muster"))
    code = bookings()[0].code
    typed = f" {code[:3].lower()}-{code[3:].lower()} "
    response = find(client, typed, "  erika   MUSTER ")
    assert response.status_code == 303 and response.headers["Location"] == f"/t/{token}"


def test_find_gives_one_answer_for_every_miss_and_keeps_what_was_typed(client, make_workshop):
    book(client, make_workshop().id, name="Erika")
    code = bookings()[0].code
    answers = []
    for typed_code, name in ((code, "Anna"), ("ZZZZZZ", "Erika"), ("ZZZZZZ", "Nobody")):
        response = find(client, typed_code, name)
        assert response.status_code == 404
        html = page(response)
        answers.append(re.sub(r'value="[^"]*"', "", re.search(r'<p class="notice[^"]*"[^>]*>(.*?)</p>', html).group(1)))
        assert f'value="{name}"' in html
    assert len(set(answers)) == 1 and "no booking with this code and this name" in answers[0]
    empty = find(client, "", "")
    assert empty.status_code == 422 and "Please enter the booking code" in page(empty)


def test_find_is_rate_limited(client, app, make_workshop):
    app.config["RATELIMIT_FIND"] = "3/600"
    for _ in range(3):
        assert find(client, "ZZZZZZ", "X").status_code == 404
    assert find(client, "ZZZZZZ", "X").status_code == 429


def test_a_booking_whose_data_is_deleted_is_not_found(client, make_workshop):
    token = token_of(book(client, make_workshop().id, name="Erika"))
    code = bookings()[0].code
    html = page(client.get(f"/t/{token}/forget"))
    client.post(f"/t/{token}/forget", data={"csrf_token": csrf_of(html)})
    assert find(client, code, "Erika").status_code == 404


# 3. Share or send, print --------------------------------------------------------------------------------------

def test_ticket_can_be_sent_to_oneself_and_printed(client, make_workshop):
    token = token_of(book(client, make_workshop(title="Fotos").id, headers=EN))
    html = page(client.get(f"/t/{token}", headers=EN))
    share = re.search(r'<a class="button button--secondary" data-share[^>]*>', html).group(0)
    assert f'data-share-url="http://localhost/t/{token}"' in share
    mailto = re.search(r'href="(mailto:[^"]+)"', share).group(1)
    assert mailto.startswith("mailto:?subject=") and f"localhost/t/{token}" in mailto
    assert "data-print hidden" in html and "js/ticket." in html
    assert re.search(r'href="/static/css/booking\.css[^"]*"', html)
    css = (Path(__file__).resolve().parent.parent / "static/css/booking.css").read_text(encoding="utf-8")
    printed = css[css.index("@media print"):]
    assert ".booking-actions" in printed and ".manage" in printed


# 4. Calendar entries that help ---------------------------------------------------------------------------------

def events(client, token: str) -> tuple[Calendar, list]:
    cal = Calendar.from_ical(client.get(f"/t/{token}.ics").get_data())
    return cal, cal.walk("VEVENT")


def test_booked_seat_calendar_has_reminders_code_and_link(client, make_workshop):
    token = token_of(book(client, make_workshop(title="Videoanrufe").id))
    code = bookings()[0].code
    cal, [event] = events(client, token)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(event["SUMMARY"]) == "Digitalwerkstatt-Bus: Videoanrufe"
    description = str(event["DESCRIPTION"])
    assert code in description and f"http://localhost/t/{token}" in description
    triggers = sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))
    assert triggers == [-timedelta(days=1), -timedelta(hours=2)]


def test_cancelled_booking_calendar_cancels_the_same_entry(client, make_workshop):
    token = token_of(book(client, make_workshop().id))
    _cal, [before] = events(client, token)
    html = page(client.get(f"/t/{token}/cancel"))
    client.post(f"/t/{token}/cancel", data={"csrf_token": csrf_of(html)})
    cal, [after] = events(client, token)
    assert str(cal["METHOD"]) == "CANCEL" and str(after["STATUS"]) == "CANCELLED"
    assert str(after["UID"]) == str(before["UID"]) and int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert f'href="/t/{token}.ics"' in page(client.get(f"/t/{token}"))  # offered as "remove from my calendar"


def test_waiting_list_place_offers_no_calendar_entry(client, make_workshop):
    workshop = make_workshop(capacity=1)
    book(client, workshop.id)
    waiting = token_of(book(client, workshop.id))
    assert client.get(f"/t/{waiting}.ics").status_code == 404
    assert f"/t/{waiting}.ics" not in page(client.get(f"/t/{waiting}"))


def test_calendar_subscriptions_have_an_https_download_beside_them(client, make_stop):
    stop = make_stop()
    for path in ("/", f"/d/{stop.district.slug}"):
        html = page(client.get(path))
        assert "webcal://" in html and re.search(r'href="/(tour|d/[\w-]+)\.ics[^"]*" download', html)


# 5. Give back one seat -------------------------------------------------------------------------------------------

def test_give_back_one_seat_of_a_party_and_it_goes_to_the_waiting_list(client, make_workshop):
    workshop = make_workshop(capacity=2)
    pair = token_of(book(client, workshop.id, headers=EN, name="Paar", party_size="2"))
    single = token_of(book(client, workshop.id, name="Einzeln"))
    html = page(client.get(f"/t/{pair}", headers=EN))
    assert "How many people are still coming?" in html
    response = client.post(f"/t/{pair}/seats", data={"csrf_token": csrf_of(html), "party_size": "1"})
    assert response.status_code == 303
    db.session.expire_all()
    mine, other = bookings()
    assert (mine.status, mine.party_size) == (BookingStatus.CONFIRMED, 1)
    assert other.status == BookingStatus.CONFIRMED and other.manage_token == single
    assert db.session.get(type(workshop), workshop.id).seats_taken == 2
    # A party of one has nothing to give back; a bigger number than before changes nothing.
    assert "How many people are still coming?" not in page(client.get(f"/t/{pair}", headers=EN))
    client.post(f"/t/{pair}/seats", data={"csrf_token": csrf_of(html), "party_size": "3"})
    assert bookings()[0].party_size == 1


def test_giving_back_seats_needs_the_form_token(client, make_workshop):
    token = token_of(book(client, make_workshop().id, party_size="3"))
    assert client.post(f"/t/{token}/seats", data={"party_size": "1"}).status_code in (303, 400)
    assert bookings()[0].party_size == 3


# 6. Reminder mail the day before ---------------------------------------------------------------------------------

@pytest.fixture
def mail_on(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_FROM="digitalbus@luebeck.example")


def test_reminder_is_queued_once_the_day_before_with_the_cancel_link(app, client, make_stop, make_workshop, mail_on,
                                                                       runner):
    tomorrow = datetime.now(BERLIN).date() + timedelta(days=1)
    stop = make_stop(starts_at=datetime.combine(tomorrow, time(10), tzinfo=BERLIN))
    workshop = make_workshop(stop, title="Fotos ordnen")
    later = make_workshop(make_stop(starts_at=datetime.combine(tomorrow + timedelta(days=2), time(10), tzinfo=BERLIN)))
    token = token_of(book(client, workshop.id, name="Anna", contact="anna@example.org"))
    book(client, workshop.id, name="Telefon", contact="0451 1234")
    book(client, later.id, name="Später", contact="spaet@example.org")
    for booking in bookings():
        booking.created_at -= timedelta(days=2)
    db.session.commit()

    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0 and "Queued 1 reminder" in result.output
    [mail] = db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.kind == "booking-reminder")).all()
    assert mail.to_address == "anna@example.org" and mail.subject == "Morgen: Fotos ordnen"
    assert f"/t/{token}" in mail.body and "absagen" in mail.body
    assert "Queued 0 reminders" in runner.invoke(args=["remind"]).output  # never twice


def test_a_booking_made_just_now_is_reminded_only_after_the_quiet_hours_the_day_before(app, client, make_stop,
                                                                                       make_workshop, mail_on):
    """remind() on a clock of the test's own: a week from now, the workshop at 10:00 the day after, booked at 08:00.
    Within REMINDER_QUIET of the booking nothing goes; later that day the reminder goes, to that booking, once;
    two days before, nothing."""
    day = datetime.now(BERLIN).date() + timedelta(days=7)
    at = lambda d, hour, minute=0: datetime.combine(d, time(hour, minute), tzinfo=BERLIN)  # noqa: E731
    workshop = make_workshop(make_stop(starts_at=at(day + timedelta(days=1), 10)), title="Fotos ordnen")
    book(client, workshop.id, name="Anna", contact="anna@example.org")
    [booking] = bookings()
    booking.created_at = at(day, 8)
    db.session.commit()
    quiet_ends = at(day, 8) + service.REMINDER_QUIET

    def reminders() -> list[OutgoingMail]:
        db.session.expire_all()
        return db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.kind == "booking-reminder")).all()

    with app.test_request_context():
        assert service.remind(now=at(day - timedelta(days=1), 12)) == 0  # two days before
        assert service.remind(now=at(day, 9)) == 0  # booked an hour ago: they know
        assert service.remind(now=quiet_ends - timedelta(minutes=1)) == 0
        assert reminders() == []
        assert service.remind(now=quiet_ends + timedelta(minutes=1)) == 1
        assert service.remind(now=quiet_ends + timedelta(hours=2)) == 0  # once
    [mail] = reminders()
    assert mail.to_address == "anna@example.org" and mail.subject == "Morgen: Fotos ordnen"
    assert bookings()[0].reminded_at == quiet_ends + timedelta(minutes=1)


# 8. The bus team's phone ---------------------------------------------------------------------------------------

def test_team_phone_on_stop_pages_and_tickets(client, app, make_workshop):
    app.config["TEAM_PHONE"] = "0451 122-0"
    workshop = make_workshop()
    token = token_of(book(client, workshop.id))
    for path in (f"/s/{workshop.stop_id}", f"/t/{token}"):
        assert 'href="tel:04511220" dir="ltr">0451 122-0</a>' in page(client.get(path))
    app.config["TEAM_PHONE"] = ""
    assert "tel:" not in page(client.get(f"/s/{workshop.stop_id}"))


def test_each_workshop_says_its_level_what_to_bring_and_walk_ins(client, make_workshop):
    first = make_workshop(title="Erste Schritte", level="first_steps", bring="Ihr Handy und das Ladekabel",
                          walk_ins=True)
    make_workshop(first.stop, title="Online-Banking", level="some_experience", walk_ins=False)
    html = page(client.get(f"/s/{first.stop_id}", headers=EN))
    assert "First steps: no experience needed" in html and "Some experience" in html
    assert "Please bring" in html and "Ihr Handy und das Ladekabel" in html
    assert "Welcome: just come by." in html and "Only with a booking." in html
    token = token_of(book(client, first.id, headers=EN))
    ticket = page(client.get(f"/t/{token}", headers=EN))
    assert "First steps: no experience needed" in ticket and "Ihr Handy und das Ladekabel" in ticket


# 11. Plain words -------------------------------------------------------------------------------------------------

def test_german_uses_plain_words():
    """Residents read no "Workshop", "Link", "Messenger", "Karten-App" or "Lesezeichen" where a plain word does."""
    from babel.messages.pofile import read_po

    path = Path(__file__).resolve().parent.parent / "translations/de/LC_MESSAGES/messages.po"
    with path.open("rb") as f:
        catalog = read_po(f)
    words = re.compile(r"\b(Workshops?|Links?|Messenger|Karten-App|Lesezeichen|Online|Offline)\b")
    found = []
    staff = ("checkin", "planning", "staff", "admin")
    for message in catalog:
        if not message.id or (message.locations and all(any(w in f for w in staff) for f, _ in message.locations)):
            continue  # the bus team's and coordinators' own words
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [s for s in strings if words.search(s.replace("Online-", "").replace("online", ""))]
    assert found == []


def test_offline_page_and_scripts_use_plain_german_and_leichte_sprache():
    """The offline page and the offline scripts' sentences say "Internet", not "online" or "offline", in any case,
    and none of the words the German pages avoid elsewhere (the test above lets lower-case "online" through)."""
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    words = re.compile(r"\b(Workshops?|Links?|Messenger|Karten-App|Lesezeichen|online|offline|Server|Browsers?)\b",
                       re.IGNORECASE)
    offline = ("busapp/pwa/", "templates/pwa/", "static/js/")
    found = []
    for catalogue in ("de", "de@ls"):
        with (root / "translations" / catalogue / "LC_MESSAGES/messages.po").open("rb") as f:
            catalog = read_po(f)
        for message in catalog:
            if not message.id or not any(f.startswith(offline) for f, _ in message.locations):
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            found += [(catalogue, s) for s in strings if words.search(s)]
    assert found == []


def test_offline_page_and_scripts_use_plain_english():
    """The English sentences of the offline page and scripts (the catalogues' source text) say "internet" too."""
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    words = re.compile(r"\b(online|offline|server|browsers?)\b", re.IGNORECASE)
    offline = ("busapp/pwa/", "templates/pwa/", "static/js/")
    with (root / "translations/messages.pot").open("rb") as f:
        catalog = read_po(f)
    checked = [m.id for m in catalog if m.id and any(f.startswith(offline) for f, _ in m.locations)]
    ids = [s for i in checked for s in (i if isinstance(i, tuple) else (i,))]
    assert len(ids) > 20  # the offline page and the scripts' sentences were found
    assert [s for s in ids if words.search(s)] == []


def test_offline_list_heading_and_items_agree_and_the_dot_says_internet(app):
    from busapp.pwa.views import strings

    with app.test_request_context(headers={"Accept-Language": "de"}):
        said = strings()
    assert said["online"] == "mit Internet" and said["offline"] == "ohne Internet"
    assert said["outbox_title"] == "Formulare von diesem Handy" and said["state_waiting"] == "Noch nicht gesendet"


# 15. Partials are plain includes; paths come from the URL map ---------------------------------------------------

def test_booking_pages_are_whole_pages_even_when_htmx_asks(client, make_workshop):
    workshop = make_workshop()
    token = token_of(book(client, workshop.id))
    for path in (f"/workshops/{workshop.id}/book", f"/t/{token}"):
        html = page(client.get(path, headers={"HX-Request": "true"}))
        assert html.lstrip().lower().startswith("<!doctype html>") and "</html>" in html


def test_scripts_take_the_ticket_path_from_the_page():
    root = Path(__file__).resolve().parent.parent
    for name in ("static/js/offline.js", "static/js/outbox.js", "static/js/ticket.js", "templates/pwa/sw.js"):
        text = (root / name).read_text(encoding="utf-8")
        assert '"/t/"' not in text and "'/t/'" not in text, name


# The accessibility statement ---------------------------------------------------------------------------------------

def test_accessibility_statement_says_which_pages_and_languages_axe_checks(app, client):
    html = page(client.get("/barrierefreiheit", headers=EN))
    assert len(app.config["LANGUAGES"]) == 9  # what "all nine languages" counts
    assert "the pages for residents in all nine languages" in html
    assert "the pages for the bus team and the coordinators in German and English" in html
    assert "WCAG 2.2 levels A and AA, in German and in English" not in html


def test_accessibility_statement_lists_what_is_built(client):
    html = page(client.get("/barrierefreiheit", headers=EN))
    assert "nearest city bus stop" in html and "hearing loop" in html
    assert "found again with the booking code" in html and "reminder the day before" in html
    assert "OpenStreetMap" in html and "The link to a stop opens the map app" not in html
    assert "My bookings on this phone" in html  # what needs JavaScript is named
