"""Staff on the tablet in a real browser (Debian's Chromium, 1024 x 768): check-in by typed code and by name search,
a QR code read by the camera (Chromium's fake camera plays a video made here from a ticket's QR code), and offline
check-ins and walk-ins sent once when the network is back, with the conflict of two offline tablets."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.core import qr
from busapp.core.extensions import db
from busapp.models import (
    Booking, CheckIn, Device, Role, User, Workshop, utcnow,
)
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.helpers import (
    TABLET, arrived, go_offline, go_online, new_tablet, offline_check_in_waiting, query, staff_caches, staff_sign_in,
    wait_pages_kept, wait_prepared, y4m_video,
)
from tests.qrtools import rasterise

pytestmark = pytest.mark.browser

def test_check_in_by_typed_code_and_by_name_search(browser, bus):
    app, server, ids = bus
    context = browser.new_context(viewport=TABLET, base_url=server.url, locale="de-DE")
    page = context.new_page()
    staff_sign_in(page, server.url)
    expect(page.locator("h1")).to_have_text("Heute im Bus")
    page.click("text=Check-in-Liste")
    page.fill("#q", "hans")  # htmx searches as one types
    expect(page.locator("#list .door-row")).to_have_count(1)
    page.locator("#list .door-row", has_text="Hans Meier").locator("button", has_text="Einchecken").click()
    expect(page.locator("#list .door-row", has_text="Hans Meier")).to_contain_text("1 von 1 da")
    expect(page.locator("[data-count=checked_in]")).to_have_text("1")
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
    page.fill("#code", ids["codes"]["Erika Muster"].lower())
    page.click("#scan-form button[type=submit]")
    expect(page.locator("#answer")).to_have_attribute("data-outcome", "valid")
    expect(page.locator("#answer")).to_contain_text("Erika Muster")
    assert arrived(app, "HANS22") == 1 and arrived(app, "ERIKA2") == 1
    context.close()


def test_scan_reads_a_ticket_from_the_camera(_playwright, bus, tmp_path):
    app, server, ids = bus
    video = tmp_path / "ticket.y4m"
    y4m_video(video, rasterise(str(qr.svg(ids["tokens"]["Aylin Kaya"], "ticket")), scale=8))
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        context = browser.new_context(viewport=TABLET, base_url=server.url, locale="de-DE")
        context.grant_permissions(["camera"], origin=server.url)
        page = context.new_page()
        staff_sign_in(page, server.url)
        page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
        expect(page.locator("#scanner")).to_be_visible()
        expect(page.locator("#answer")).to_have_attribute("data-outcome", "valid", timeout=30000)
        expect(page.locator("#answer")).to_contain_text("Aylin Kaya")
        assert arrived(app, "AYLIN2") == 2
        context.close()
    finally:
        browser.close()


def test_offline_check_in_and_walk_in_sync_once_and_a_second_tablet_sees_the_conflict(browser, bus):
    app, server, ids = bus
    door = f"{server.url}/staff/workshops/{ids['workshop']}"
    context_a, page_a = new_tablet(browser, server.url, "Tablet vorne")
    context_b, page_b = new_tablet(browser, server.url, "Tablet hinten")
    for page in (page_a, page_b):
        page.goto(door)
        wait_prepared(page)
    context_a.set_offline(True)
    context_b.set_offline(True)
    # Tablet A, offline: checks Erika in by tap and adds a walk-in.
    page_a.locator("#list .door-row", has_text="Erika Muster").locator("button", has_text="Einchecken").click()
    expect(page_a.locator("#booking-" + str(query(app, lambda: db.session.scalar(
        sa.select(Booking.id).where(Booking.code == "ERIKA2")))))).to_have_attribute("data-offline", "true")
    page_a.fill("#walkin-name", "Ali")
    page_a.click(".walkin-form button[type=submit]")
    expect(page_a.locator("[data-sync-queue]")).to_contain_text("2")
    # Tablet B, offline too: scans Erika's ticket, which it cannot know was taken.
    page_b.locator("#list .door-row", has_text="Erika Muster").locator("button", has_text="Einchecken").click()
    expect(page_b.locator("[data-sync-queue]")).to_contain_text("1")
    assert arrived(app, "ERIKA2") == 0
    # A comes back first, then B.
    context_a.set_offline(False)
    page_a.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page_a.locator("[data-sync-queue]")).to_have_text("")
    context_b.set_offline(False)
    page_b.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page_b.locator("[data-sync-problems]")).to_contain_text("Schon auf einem anderen Tablet eingecheckt")
    assert arrived(app, "ERIKA2") == 1
    walk_ins = query(app, lambda: db.session.scalars(sa.select(Booking).where(Booking.walk_in.is_(True))).all())
    assert [(b.name, b.arrived) for b in walk_ins] == [("Ali", 1)]
    records = query(app, lambda: db.session.execute(sa.select(CheckIn.kind, CheckIn.conflict)).all())
    assert sorted(records) == [("checkin", False), ("checkin", True), ("walkin", False)]
    # Staff see the conflict on today's page.
    page_a.goto(server.url + "/staff/")
    expect(page_a.locator(".conflicts")).to_contain_text("Erika Muster")
    # Both tablets see it, on the day's page and on Erika's row of the door list, until someone marks it seen.
    page_b.goto(door)
    conflict = page_b.locator("#list .door-row", has_text="Erika Muster").locator("[data-conflict]")
    expect(conflict).to_be_visible()
    page_a.goto(door)
    expect(page_a.locator("#list .door-row", has_text="Erika Muster").locator("[data-conflict]")).to_be_visible()
    conflict.locator("button").click()
    expect(page_b.locator("#list [data-conflict]")).to_have_count(0)
    page_a.goto(server.url + "/staff/")
    expect(page_a.locator(".conflicts")).to_have_count(0)
    context_a.close()
    context_b.close()


def test_sign_out_sends_first_and_never_drops_unsent_check_ins(browser, bus):
    app, server, ids = bus
    context, page = offline_check_in_waiting(browser, server.url, ids["workshop"])
    # Offline: signing out cannot send, so a dialog says how many wait; keeping them leaves everything as it was.
    page.click("nav form button[type=submit]")
    dialog = page.locator("#unsent-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Noch nicht gesendet: 1 Check-in oder Gast ohne Buchung auf diesem Tablet.")
    dialog.locator("button", has_text="Auf dem Tablet lassen").click()
    expect(dialog).to_be_hidden()
    assert page.evaluate("JSON.parse(localStorage.getItem('busapp.staff.queue')).length") == 1
    assert page.url.endswith(f"/staff/workshops/{ids['workshop']}")
    expect(page.locator("#list")).to_be_visible()  # the page, not a browser error page
    # Back online, signing out sends first, then wipes the day's data.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-sync-queue]")).to_have_text("")
    page.click("nav form button[type=submit]")
    page.wait_for_url(server.url + "/signout")
    assert arrived(app, "HANS22") == 1
    assert page.evaluate("localStorage.getItem('busapp.staff.day')") is None
    assert page.evaluate("JSON.parse(localStorage.getItem('busapp.staff.queue')).length") == 0
    context.close()


# --- a tablet that opens its pages anew without network ------------------------------------------------------------

def test_prepared_tablet_opens_its_pages_anew_offline_and_the_check_in_syncs_once(browser, bus):
    app, server, ids = bus
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(server.url + "/staff/")
    wait_prepared(page)
    wait_pages_kept(page)
    expect(page.locator("[data-sync-day]")).to_contain_text("Daten vom")
    page.close()  # the tab is closed (or the tablet restarts) while on the way

    go_offline(context, server)
    page = context.new_page()
    page.goto(server.url + "/staff/")
    copy = page.locator(".staff-copy")
    expect(copy).to_contain_text("Offline")
    expect(copy).to_contain_text(re.compile(r"Daten vom \d\d\.\d\d\.\d\d, \d\d:\d\d"))
    expect(page.locator("h1")).to_have_text("Heute im Bus")
    # The bus status needs the server: its buttons are switched off on the copy.
    expect(page.locator("#live button").first).to_be_disabled()
    page.click("text=Check-in-Liste")
    expect(page).to_have_url(f"{server.url}/staff/workshops/{ids['workshop']}")
    expect(page.locator(".staff-copy")).to_contain_text("Offline")
    page.fill("#q", "hans")  # searched on the tablet: the server is not there
    expect(page.locator("#list .door-row:visible")).to_have_count(1)
    page.locator("#list .door-row", has_text="Hans Meier").locator("button", has_text="Einchecken").click()
    expect(page.locator("[data-sync-queue]")).to_contain_text("1")
    expect(page.locator("[data-count=checked_in]")).to_have_text("1")
    # The scan page of the workshop opens too, and a typed code is decided on the tablet.
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
    expect(page.locator(".staff-copy")).to_contain_text("Offline")
    page.fill("#code", ids["codes"]["Hans Meier"])
    page.click("#scan-form button[type=submit]")
    expect(page.locator("#answer")).to_have_attribute("data-outcome", "again")
    assert arrived(app, "HANS22") == 0

    go_online(context, server)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-sync-queue]")).to_have_text("")
    assert arrived(app, "HANS22") == 1
    # Opened again online, the page is the server's and the queue stays sent: stored once.
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    expect(page.locator(".staff-copy")).to_have_count(0)
    expect(page.locator("#list .door-row", has_text="Hans Meier")).to_contain_text("1 von 1 da")
    page.evaluate("BusCheckin.sync(false)")
    records = query(app, lambda: db.session.execute(sa.select(CheckIn.kind, CheckIn.outcome)).all())
    assert records == [("checkin", "valid")]
    context.close()


def test_kept_pages_go_at_sign_out_and_never_reach_another_person(browser, bus):
    app, server, ids = bus
    query(app, lambda: _second_staff())
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(server.url + "/staff/")
    wait_pages_kept(page)
    first = staff_caches(page)
    assert len(first) == 1
    # Someone else signs in on the same tablet, without anyone signing out first: the copies go.
    page.goto(server.url + "/signin")
    page.fill("#email", "zweite@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_url(server.url + "/staff/")
    wait_pages_kept(page)
    second = staff_caches(page)
    assert len(second) == 1 and second != first
    # Signing out removes them; offline, /staff/ then shows the offline page, not a kept copy.
    page.click("nav form button[type=submit]")
    page.wait_for_url(server.url + "/signout")
    expect(page.locator("main h1")).to_have_text("Abmelden")
    assert staff_caches(page) == []
    go_offline(context, server)
    page.goto(server.url + "/staff/")
    expect(page.locator("main h1")).to_have_text("Sie haben gerade kein Internet")
    expect(page.locator(".staff-copy")).to_have_count(0)
    go_online(context, server)
    context.close()


def _second_staff() -> None:
    user = User(email="zweite@example.org", role=Role.STAFF)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()


def test_seats_are_set_aside_only_when_booking_closes_and_a_walk_in_beyond_them_waits_for_a_seat(browser, bus):
    app, server, ids = bus
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    wait_prepared(page)

    def seats_taken() -> int:
        return query(app, lambda: db.session.get(Workshop, ids["workshop"]).seats_taken)

    def queued() -> int:
        return page.evaluate("JSON.parse(localStorage.getItem('busapp.staff.queue') || '[]').length")

    assert seats_taken() == 4  # four booked and none held: residents can still book the workshop in an hour
    # Offline before booking closed, the tablet holds no seat: a walk-in waits for a seat, kept on the tablet.
    context.set_offline(True)
    page.fill("#walkin-name", "Ali")
    page.click(".walkin-form button[type=submit]")
    expect(page.locator("#list .door-answer")).to_contain_text("Ali: Wartet auf einen Platz")
    expect(page.locator("#list .door-row", has_text="Ali")).to_contain_text("wartet auf einen Platz")
    assert queued() == 1
    # The workshop starts, so booking has closed (the server's data and the tablet's say so alike).
    started = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)

    def start():
        db.session.get(Workshop, ids["workshop"]).starts_at = started
        db.session.commit()

    query(app, start)
    page.evaluate("""(t) => {
        const d = JSON.parse(localStorage.getItem('busapp.staff.day'));
        d.workshops.forEach(w => { w.starts_at = t; });
        localStorage.setItem('busapp.staff.day', JSON.stringify(d));
    }""", started.isoformat())
    # Online: the share is taken now, Ali is seated with it, and the volunteer reads that Ali got a seat.
    context.set_offline(False)
    page.evaluate("BusCheckin.sync(false)")
    expect(page.locator("[data-sync-problems]")).to_contain_text("Ali: hat einen Platz bekommen")
    assert queued() == 0
    walk_in = query(app, lambda: db.session.scalar(sa.select(Booking).where(Booking.name == "Ali")))
    assert walk_in.status.value == "confirmed" and walk_in.arrived == 1
    # After the start, online, the tablet gives the rest of its share up.
    for _ in range(50):
        page.evaluate("BusCheckin.sync(false)")
        if seats_taken() == 5:
            break
        page.wait_for_timeout(100)
    assert seats_taken() == 5
    share_left = "JSON.parse(localStorage.getItem('busapp.staff.local')).shareLeft[%d]" % ids["workshop"]
    assert page.evaluate(share_left) == 0
    # Offline again, the next walk-in waits for a seat; meanwhile the last free seats go to people at the door.
    context.set_offline(True)
    page.fill("#walkin-name", "Bea")
    page.click(".walkin-form button[type=submit]")
    expect(page.locator("#list .door-answer")).to_contain_text("Bea: Wartet auf einen Platz")

    def fill_up():
        db.session.get(Workshop, ids["workshop"]).capacity = 5
        db.session.commit()

    query(app, fill_up)
    context.set_offline(False)
    page.evaluate("BusCheckin.sync(false)")
    expect(page.locator("[data-sync-problems]")).to_contain_text("Bea: Kein Platz frei: auf der Warteliste")
    bea = query(app, lambda: db.session.scalar(sa.select(Booking).where(Booking.name == "Bea")))
    assert bea.status.value == "waiting" and bea.walk_in and bea.arrived == 0
    page.reload()
    expect(page.locator("#list .door-row", has_text="Bea")).to_contain_text("Warteliste")
    context.close()


def test_kept_pages_go_when_the_tablet_learns_it_was_revoked(browser, bus):
    app, server, ids = bus
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(server.url + "/staff/")
    wait_pages_kept(page)
    assert len(staff_caches(page)) == 1

    def revoke():
        db.session.execute(sa.update(Device).values(revoked_at=utcnow()))
        db.session.commit()

    query(app, revoke)
    page.evaluate("BusCheckin.prepare()")  # answered 401: the credential no longer works
    expect(page.locator("[data-sync-day]")).to_contain_text("nicht eingerichtet")
    assert staff_caches(page) == []
    assert page.evaluate("localStorage.getItem('busapp.staff.day')") is None
    context.close()
