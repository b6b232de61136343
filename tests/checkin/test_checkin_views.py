"""Staff pages under /staff: landing after sign-in, today's page with counts and live status, the door list with
search, check-in by tap and by code, walk-ins, release, tablets and their sync, and bad input."""
from __future__ import annotations

import json
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import flask
import pytest
import sqlalchemy as sa

from busapp.core import tickets
from busapp.checkin import service, views
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, CheckIn, Device, SeatShare, Stop, utcnow
from tests.conftest import PASSWORD, csrf_token
from tests.checkin.test_checkin_service import make_booking, today  # noqa: F401 - fixtures

HX = {"HX-Request": "true"}


def form(client, path, data, headers=None):
    token = csrf_token(client, "/staff/")
    return client.post(path, data={"csrf_token": token, **data}, headers=headers or {})


def set_up_tablet(client, make_user, name: str = "Tablet vorne") -> str:
    """The signed-in staff member asks to set up this tablet and a coordinator approves it (the pairing rule);
    returns the tablet's credential."""
    html = form(client, "/staff/tablet", {"name": name}).get_data(as_text=True)
    credential = re.search(r'data-credential="([^"]+)"', html).group(1)
    service.approve_device(service.waiting_device(credential), make_user("coordinator"))
    return credential


def nonce_from(html: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', html).group(1)


def test_staff_land_on_today_after_sign_in(client, make_user):
    user = make_user("staff")
    token = csrf_token(client, "/signin")
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/")


def test_today_shows_counts_and_live_buttons(client, login, today, make_booking):
    stop, later, running = today
    make_booking(later, party_size=2, name="Erika")
    make_booking(later, party_size=1, status=BookingStatus.WAITING, name="Wanda")
    login("staff")
    html = client.get("/staff/").get_data(as_text=True)
    assert "Später" in html and "Jetzt" in html
    card = html[html.index(f'id="workshop-{later.id}"'):]
    assert re.search(r"<dd>2</dd>.*?<dd>0</dd>.*?<dd>2</dd>.*?<dd>1</dd>", card, re.S)
    assert 'value="here"' in html and 'value="cancelled"' in html


def test_live_status_buttons_reach_the_public_page(client, login, today):
    stop, _, _ = today
    login("staff")
    response = form(client, f"/staff/stops/{stop.id}/live", {"status": "late", "minutes_late": "20",
                                                             "reason": "Stau"}, HX)
    assert response.status_code == 200 and 'id="live"' in response.get_data(as_text=True)
    public = client.get(f"/s/{stop.id}").get_data(as_text=True)
    assert "Stau" in public and "20 Minuten" in public


def test_live_status_bad_minutes_kept_with_message(client, login, today):
    stop, _, _ = today
    login("staff")
    response = form(client, f"/staff/stops/{stop.id}/live", {"status": "late", "minutes_late": "abc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="abc"' in html and 'aria-invalid="true"' in html


def test_door_list_search_page_and_fragment(client, login, today, make_booking):
    _stop, workshop, _ = today
    erika = make_booking(workshop, name="Erika Muster", needs_note="Lupe")
    make_booking(workshop, name="Hans Meier")
    login("staff")
    page = client.get(f"/staff/workshops/{workshop.id}?q=eri").get_data(as_text=True)
    assert "Erika Muster" in page and "Hans Meier" not in page and "Lupe" in page and "<html" in page
    fragment = client.get(f"/staff/workshops/{workshop.id}?q={erika.code[:3].lower()}", headers=HX)
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="list"') and "Erika Muster" in text


def test_the_sign_out_dialog_counts_in_the_languages_plural_forms(client, login, today):
    """The title of the dialog for unsent actions comes in each plural form of the page's language (CLDR), and
    checkin.js takes the one for the number: "1 Check-in", "2 Check-ins"."""
    _stop, workshop, _ = today
    login("staff")
    for lang, forms in (("de", {"one": "Noch nicht gesendet: {num} Check-in oder Gast ohne Buchung auf diesem Tablet.",
                                "other": "Noch nicht gesendet: {num} Check-ins oder Gäste ohne Buchung auf diesem "
                                         "Tablet."}),
                        ("en", {"one": "Not sent yet: {num} check-in or walk-in on this tablet.",
                                "other": "Not sent yet: {num} check-ins or walk-ins on this tablet."})):
        page = client.get(f"/staff/workshops/{workshop.id}?lang={lang}").get_data(as_text=True)
        texts = json.loads(re.search(r'<script type="application/json" id="staff-texts">(.*?)</script>', page,
                                     re.S).group(1))
        assert texts["unsentTitle"] == forms, lang


def test_tap_check_in_partial_and_undo(client, login, today, make_booking):
    _stop, workshop, _ = today
    booking = make_booking(workshop, party_size=3, name="Familie Yilmaz")
    login("staff")
    page = client.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    response = form(client, f"/staff/workshops/{workshop.id}/act",
                    {"kind": "checkin", "booking_id": booking.id, "people": "2", "nonce": nonce_from(page)}, HX)
    assert response.status_code == 200 and "2 von 3 da" in response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.arrived == 2
    response = form(client, f"/staff/workshops/{workshop.id}/act",
                    {"kind": "undo", "booking_id": booking.id, "nonce": "undo-" + nonce_from(page)})
    assert response.status_code == 200
    db.session.refresh(booking)
    assert booking.arrived == 0


def test_scan_typed_code_checks_in_and_again(client, login, today, make_booking):
    _stop, workshop, _ = today
    booking = make_booking(workshop, name="Erika Muster", needs_note="Rollstuhl")
    login("staff")
    page = client.get(f"/staff/workshops/{workshop.id}/scan")
    assert "camera=(self)" in page.headers["Permissions-Policy"]
    html = page.get_data(as_text=True)
    first = form(client, f"/staff/workshops/{workshop.id}/scan", {"code": tickets.sign(booking),
                                                                   "nonce": nonce_from(html)}, HX)
    text = first.get_data(as_text=True)
    assert first.status_code == 200 and 'data-outcome="valid"' in text and "Rollstuhl" in text
    again = form(client, f"/staff/workshops/{workshop.id}/scan", {"code": booking.code, "nonce": "n" * 20}, HX)
    assert 'data-outcome="again"' in again.get_data(as_text=True)


@pytest.mark.parametrize("code", ["", "xyz", "DB2.garbled", "\x00\x01", "A" * 1000])
def test_scan_garbled_never_500(client, login, today, code):
    _stop, workshop, _ = today
    login("staff")
    response = form(client, f"/staff/workshops/{workshop.id}/scan", {"code": code, "nonce": "n" * 20})
    assert response.status_code == 422


def test_walk_in_form_and_bad_input(client, login, today):
    _stop, _, running = today
    login("staff")
    page = client.get(f"/staff/workshops/{running.id}").get_data(as_text=True)
    bad = form(client, f"/staff/workshops/{running.id}/walkin", {"name": " ", "party_size": "9",
                                                                 "nonce": nonce_from(page)})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    good = form(client, f"/staff/workshops/{running.id}/walkin", {"name": "Ali", "party_size": "2",
                                                                  "nonce": nonce_from(page)}, HX)
    assert good.status_code == 200 and "Ali" in good.get_data(as_text=True)
    assert db.session.scalar(sa.select(Booking).where(Booking.walk_in.is_(True))).arrived == 2


def test_release_asks_first_then_frees(client, login, today, make_booking):
    _stop, _, running = today
    absent = make_booking(running, party_size=2, name="Nobody")
    login("staff")
    page = client.get(f"/staff/workshops/{running.id}/release").get_data(as_text=True)
    assert "Nobody" in page
    db.session.refresh(absent)
    assert absent.status == BookingStatus.CONFIRMED
    assert form(client, f"/staff/workshops/{running.id}/release", {}).status_code == 200
    db.session.refresh(absent)
    assert absent.status == BookingStatus.CANCELLED


def signed(day: dict, item: dict, acted_at=None) -> dict:
    """A queued action as the tablet's script signs it with the key from the day's data."""
    import base64
    import hashlib
    import hmac

    item = dict(item, acted_at=(acted_at or utcnow()).isoformat(), key=day["signing"]["id"])
    key = base64.urlsafe_b64decode(day["signing"]["key"] + "=")
    text = "\n".join("" if item.get(k) is None else str(item[k]) for k in service.SIGNED_FIELDS)
    item["sig"] = base64.urlsafe_b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return item


def test_tablet_registration_day_data_sync_and_revocation(client, login, today, make_booking, make_user, app):
    stop, workshop, _ = today
    booking = make_booking(workshop)
    login("staff")
    html = form(client, "/staff/tablet", {"name": "Tablet vorne"}).get_data(as_text=True)
    credential = re.search(r'data-credential="([^"]+)"', html).group(1)
    device = db.session.scalar(sa.select(Device))
    assert device.name == "Tablet vorne" and device.token_hash != credential
    # It waits for a coordinator: the page and the tablet's every request say so, with the code to tell them.
    code = service.pairing_code(device)
    assert re.fullmatch(r"\d{3} \d{3}", code) and 'data-state="waiting"' in html and code in html
    headers = {"X-Device-Credential": credential}
    waiting = client.get(f"/staff/day.json?stop={stop.id}", headers=headers)
    assert waiting.status_code == 403 and waiting.json["error"] == "waiting" and waiting.json["code"] == code
    assert "Freigabe" in waiting.json["message"] and code in waiting.json["message"]
    assert client.post("/staff/sync", json={"items": []}, headers=headers).json["error"] == "waiting"
    # A coordinator approves it on the tablets' page, where it is listed with its code.
    coordinator_client = app.test_client()
    coordinator = make_user("coordinator")
    token = csrf_token(coordinator_client, "/signin")
    coordinator_client.post("/signin", data={"email": coordinator.email, "password": PASSWORD, "csrf_token": token})
    listing = coordinator_client.get("/admin/tablets").get_data(as_text=True)
    assert "Tablet vorne" in listing and code in listing
    token = csrf_token(coordinator_client, "/admin/tablets")
    approved = coordinator_client.post(f"/admin/tablets/{device.id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    # The day's data only with someone signed in; it brings the key for signing what is done offline.
    day = client.get(f"/staff/day.json?stop={stop.id}", headers=headers)
    assert day.status_code == 200 and day.headers["Cache-Control"] == "no-store"
    assert booking.code in [b["code"] for b in day.json["bookings"]]
    # The credential alone (a fresh client, nobody signed in, no CSRF token) sends what was signed.
    tablet = app.test_client()
    queue = {"items": [signed(day.json, {"kind": "checkin", "workshop_id": workshop.id, "booking_id": booking.id,
                                         "sequence": 1, "nonce": "abcdefgh12345"})]}
    first = tablet.post("/staff/sync", json=queue, headers=headers)
    assert first.status_code == 200 and first.json["results"][0]["outcome"] == "valid"
    again = tablet.post("/staff/sync", json=queue, headers=headers)
    assert again.json["results"][0]["replay"] is True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1
    assert tablet.post("/staff/sync", data="not json", headers=headers).status_code == 400
    # A coordinator revokes it: from then on nothing it sends is taken.
    coordinator_client.post(f"/admin/tablets/{device.id}/revoke", data={"csrf_token": token})
    assert tablet.post("/staff/sync", json=queue, headers=headers).status_code == 401
    assert tablet.get("/staff/day.json", headers=headers).status_code == 401
    # Also with staff signed in on it: the tablet is told, so it forgets the credential and its kept pages.
    assert client.get("/staff/day.json", headers=headers).json["error"] == "revoked"
    assert client.get("/staff/day.json").status_code == 409  # no credential at all: register this tablet


def test_staff_cannot_approve_or_revoke_tablets(client, login, make_user):
    login("staff")
    credential = re.search(r'data-credential="([^"]+)"', form(client, "/staff/tablet", {"name": "Tablet"})
                           .get_data(as_text=True)).group(1)
    device = service.waiting_device(credential)
    assert client.get("/staff/tablets").status_code == 403
    assert client.get("/admin/tablets").status_code == 403
    for action in ("approve", "refuse", "revoke"):
        assert form(client, f"/admin/tablets/{device.id}/{action}", {}).status_code == 403
    db.session.refresh(device)
    assert device.is_waiting


def test_expired_sign_in_mid_check_in_goes_to_sign_in_and_back(client, login, today, make_booking, app):
    _stop, workshop, _ = today
    booking = make_booking(workshop)
    login("staff")
    page = client.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    with client.session_transaction() as sess:
        sess["auth_at"] = 0
    response = client.post(f"/staff/workshops/{workshop.id}/act",
                           data={"csrf_token": csrf_token(client, "/signin"), "kind": "checkin",
                                 "booking_id": booking.id, "nonce": nonce_from(page)},
                           headers={**HX, "Referer": f"http://localhost/staff/workshops/{workshop.id}"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].endswith(f"next=/staff/workshops/{workshop.id}")
    db.session.refresh(booking)
    assert booking.arrived == 0


# --- pages a prepared tablet keeps for opening without network -----------------------------------------------------

def copy_mark(response) -> tuple[str, int] | None:
    value = response.headers.get("X-Staff-Copy")
    if value is None:
        return None
    key, until = value.split(" ")
    return key, int(until)


def test_staff_pages_say_whose_copy_they_are_and_until_when(client, login, today, app):
    _stop, workshop, _ = today
    user = login("staff")
    pages = [client.get(path) for path in
             ("/staff/", f"/staff/workshops/{workshop.id}", f"/staff/workshops/{workshop.id}/scan")]
    marks = {copy_mark(r) for r in pages}
    assert len(marks) == 1
    key, until = marks.pop()
    # Never in an HTTP cache; only the service worker keeps them, and not past the sign-in or the day.
    assert all(r.status_code == 200 and r.headers["Cache-Control"] == "no-store" for r in pages)
    with app.test_request_context():
        ends = service.end_of_day(utcnow())
    with client.session_transaction() as sess:
        expires = sess["auth_at"] + app.config["AUTH_MAX_AGE"].total_seconds()
    assert until == int(min(ends.timestamp(), expires) * 1000)
    with client.session_transaction() as sess:
        sid = sess["auth_sid"]
    with app.test_request_context():
        flask.session["auth_sid"] = sid
        assert key == views.copy_key(user) and re.fullmatch(r"[0-9a-f]{32}", key)
    # Fragments, answers to actions and other staff pages carry no mark: they are never kept.
    assert copy_mark(client.get(f"/staff/workshops/{workshop.id}", headers=HX)) is None
    assert copy_mark(client.get(f"/staff/workshops/{workshop.id}/release")) is None
    answer = form(client, f"/staff/workshops/{workshop.id}/scan", {"code": "XXXXXX", "nonce": "n" * 12})
    assert copy_mark(answer) is None
    # Signing out and in again gives a new key: copies of the earlier sign-in are not this one's.
    client.post("/signout", data={"csrf_token": csrf_token(client, "/signout")})
    token = csrf_token(client, "/signin")
    client.post("/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert copy_mark(client.get("/staff/"))[0] != key


def test_another_person_gets_another_key(client, login, make_user, app):
    login("staff")
    first = copy_mark(client.get("/staff/"))[0]
    someone = make_user("staff")
    other = app.test_client()
    token = csrf_token(other, "/signin")
    other.post("/signin", data={"email": someone.email, "password": PASSWORD, "csrf_token": token})
    second = copy_mark(other.get("/staff/"))[0]
    assert second != first


def test_day_data_lists_the_pages_to_keep_and_when_it_was_fetched(client, login, today, make_stop, make_workshop,
                                                                   now, make_user):
    stop, later, running = today
    # A second stop early in the same Lübeck day: it belongs to today at any hour the test runs.
    berlin = ZoneInfo("Europe/Berlin")
    early = datetime.combine(now.astimezone(berlin).date(), time(0, 1), tzinfo=berlin)
    afternoon = make_stop(starts_at=early, hours=0.5, place="Schulhof")
    assert afternoon in service.stops_of_day(now)
    there = make_workshop(stop=afternoon, starts_at=afternoon.starts_at, title="Am Schulhof")
    login("staff")
    credential = set_up_tablet(client, make_user)
    day = client.get(f"/staff/day.json?stop={stop.id}", headers={"X-Device-Credential": credential}).json
    assert {s["id"] for s in day["stops"]} == {stop.id, afternoon.id}
    ids = {w["id"] for w in day["workshops"]}
    assert ids == {later.id, running.id, there.id}
    expected = ["/staff/"] + [f"/staff/workshops/{i}{end}" for i in ids for end in ("", "/scan")]
    assert sorted(day["pages"]) == sorted(expected)
    assert day["prepared_at"] and day["version"] == 2
    # Each page to keep opens for the signed-in person and is marked for keeping.
    assert all(copy_mark(client.get(path)) for path in day["pages"])
    # Today's page links the door lists of the other stops of the day, so they can be reached offline.
    assert f'href="/staff/workshops/{there.id}"' in client.get("/staff/").get_data(as_text=True)


def test_a_tablet_gives_up_its_share_through_sync(client, login, today, make_booking, make_user):
    _stop, _later, running = today
    login("staff")
    credential = set_up_tablet(client, make_user)
    device = db.session.scalar(sa.select(Device))
    db.session.add(SeatShare(device_id=device.id, workshop_id=running.id, seats=2, used=0, taken_at=utcnow()))
    running.seats_taken = 2
    db.session.commit()
    headers = {"X-Device-Credential": credential}
    bad = client.post("/staff/sync", json={"items": [], "give_up": [running.id], "sequence": True}, headers=headers)
    assert bad.json["given_up"] == {} and bad.json["shares"] == {str(running.id): 2}
    done = client.post("/staff/sync", json={"items": [], "give_up": [running.id], "sequence": 0}, headers=headers)
    assert done.json["given_up"] == {str(running.id): 2} and done.json["shares"] == {str(running.id): 0}
    db.session.refresh(running)
    assert running.seats_taken == 0


def test_door_list_tells_the_tablet_its_share(client, login, today, make_user):
    _stop, later, _ = today
    login("staff")
    credential = set_up_tablet(client, make_user)
    device = db.session.scalar(sa.select(Device))
    db.session.add(SeatShare(device_id=device.id, workshop_id=later.id, seats=2, used=0, taken_at=utcnow()))
    later.seats_taken = 2
    db.session.commit()
    page = client.get(f"/staff/workshops/{later.id}", headers={**HX, "X-Device-Credential": credential})
    assert 'data-share-left="2"' in page.get_data(as_text=True)
    assert "data-share-left" not in client.get(f"/staff/workshops/{later.id}", headers=HX).get_data(as_text=True)
    assert "Für Tablets freigehalten" in client.get(f"/staff/workshops/{later.id}").get_data(as_text=True)


def test_seats_for_tablets_are_shown_to_coordinators_and_a_walk_in_without_a_seat_waits(client, login, today,
                                                                                        make_booking, make_user, app):
    _stop, later, running = today
    make_booking(running, party_size=4)  # the running workshop is full
    login("staff")
    credential = set_up_tablet(client, make_user)
    headers = {"X-Device-Credential": credential}
    day = client.get("/staff/day.json", headers=headers).json
    # The workshop in an hour can still be booked: the tablet is in line for it, and no seat is held.
    entry = {w["id"]: w for w in day["workshops"]}[later.id]
    assert entry["share"] == 0 and entry["share_taken"] is False
    assert 'data-share-left' not in client.get(f"/staff/workshops/{later.id}", headers={**HX, **headers}).get_data(
        as_text=True)
    office = app.test_client()
    coordinator = make_user("coordinator")
    token = csrf_token(office, "/signin")
    office.post("/signin", data={"email": coordinator.email, "password": PASSWORD, "csrf_token": token})
    page = office.get("/admin/tablets").get_data(as_text=True)
    shares = page[page.index('id="shares-title"'):]
    assert "Später" in shares and "Tablet vorne" in shares and "noch keiner: ab" in shares
    # A walk-in seated offline at the full workshop is kept on the waiting list, and the tablet is told so.
    queue = {"items": [signed(day, {"kind": "walkin", "workshop_id": running.id, "name": "Ali", "party_size": 1,
                                    "sequence": 1, "nonce": "walkin-ali-0001"})]}
    result = app.test_client().post("/staff/sync", json=queue, headers=headers).json["results"][0]
    assert result["outcome"] == "waiting" and result["kind"] == "walkin"
    assert result["message"].startswith("Kein Platz frei: auf der Warteliste")
    ali = db.session.scalar(sa.select(Booking).where(Booking.name == "Ali"))
    assert ali.status == BookingStatus.WAITING and ali.walk_in and ali.arrived == 0
    door = client.get(f"/staff/workshops/{running.id}").get_data(as_text=True)
    row = door[door.index(f'id="booking-{ali.id}"'):]
    assert "ohne Buchung" in row[:700] and "Warteliste" in row[:1500] and "Jetzt Platz geben" in row[:3000]
