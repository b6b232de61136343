"""Offline in a real browser: saved pages, the outbox for bookings and feedback, releases of the service worker.

"Offline" means both: the browser context is set offline and the live server is stopped, so nothing can be
answered by the network by accident. The server comes back on the same port (same origin, same worker).
"""
from __future__ import annotations

import re
import threading
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.pwa import views as pwa
from busapp.core.extensions import db
from tests.e2e.helpers import (
    NO_BACKGROUND_SYNC, SAVED, book_offline, bookable_workshop, cache_names, controlled, count, execute, fill_booking,
    go_offline, go_online, outbox_items, poll, query, wait_kept,
)
from busapp.models import Booking, BookingStatus, District, Feedback, Stop, StopStatus, Workshop, WorkshopStatus, utcnow

pytestmark = pytest.mark.browser

# Feedback sent during a test; the demo tour brings answers of its own.
SENT_HERE = ~Feedback.idempotency_key.startswith("demo-")


# --- a: saved pages ------------------------------------------------------------------------------------------------

def test_visited_pages_open_offline_as_saved_copies(page, context, live_server, live_app):
    slugs = query(live_app, lambda: db.session.scalars(sa.select(District.slug).order_by(District.number)).all())
    stop_id = query(live_app, lambda: db.session.scalar(
        sa.select(Stop.id).join(District).where(District.slug == slugs[0], Stop.status == StopStatus.PUBLISHED,
                                                Stop.starts_at > utcnow()).order_by(Stop.starts_at)))
    district, stop, unvisited = f"/d/{slugs[0]}", f"/s/{stop_id}", f"/d/{slugs[1]}"

    page.goto("/")
    controlled(page)
    expect(page.locator(".pwa-status")).to_contain_text("mit Internet")
    page.goto(district)
    page.goto(stop)
    wait_kept(page, "/", district, stop)  # the first page, opened before the worker ran, is kept too
    place = page.locator("main h1").inner_text()

    go_offline(context, live_server)
    page.reload()
    expect(page.locator("main h1")).to_have_text(place)
    expect(page.locator(".pwa-copy")).to_contain_text(re.compile(r"Gespeicherte Fassung vom .+\d\d:\d\d"))
    expect(page.locator(".pwa-status")).to_contain_text("Sie haben gerade kein Internet")

    page.locator(".site-nav a[href='/']").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".pwa-copy")).to_be_visible()
    expect(page.locator(f"main a[href='{district}']").first).to_be_visible()
    page.goto(district)
    expect(page.locator(".pwa-copy")).to_be_visible()
    expect(page.locator(f"main a[href='{stop}']").first).to_be_visible()
    # Styles come from the worker's cache: the page looks as it did online.
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") == "rgb(11, 79, 108)"

    page.goto(unvisited)
    expect(page.locator("main h1")).to_have_text("Sie haben gerade kein Internet")
    saved = page.locator("#saved-pages a")
    expect(saved).to_have_count(3)
    expect(page.locator("#saved-pages")).to_contain_text("gespeichert am")
    saved.filter(has_text=place).click()
    expect(page.locator("main h1")).to_have_text(place)


def test_fragments_and_staff_pages_are_never_saved(page, context, live_server):
    page.goto("/")
    controlled(page)
    page.goto("/signin")
    page.evaluate("fetch('/?district=' + 'x', {headers: {'HX-Request': 'true'}}).then(r => r.text())")
    page.goto("/offline")
    wait_kept(page, "/", "/offline")
    kept = page.evaluate("caches.open(%r).then(c => c.keys()).then(ks => ks.map(k => new URL(k.url).pathname + "
                         "new URL(k.url).search))" % pwa.PAGES_CACHE)
    assert sorted(kept) == ["/", "/offline"]
    go_offline(context, live_server)
    page.goto("/signin")
    expect(page.locator("main h1")).to_have_text("Sie haben gerade kein Internet")


# --- b: feedback -----------------------------------------------------------------------------------------------------

def test_feedback_sent_offline_is_stored_once_when_back_online(page, context, live_server, live_app):
    stop_id = query(live_app, lambda: db.session.scalar(
        sa.select(Stop.id).where(Stop.status == StopStatus.PUBLISHED, Stop.ends_at < utcnow())
        .order_by(Stop.ends_at.desc())))
    page.goto(f"/f/{stop_id}")
    controlled(page)
    go_offline(context, live_server)
    page.locator("input[name='rating'][value='4']").check(force=True)
    page.locator("textarea[name='learned']").fill("Videoanrufe mit meiner Enkelin")
    key = page.locator("input[name='idempotency_key']").input_value()
    page.get_by_role("button", name="Rückmeldung senden").click()

    expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
    expect(page.locator("#status-bar")).to_contain_text("1 Eintrag wartet auf das Senden.")
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Noch nicht gesendet")
    expect(item).not_to_contain_text("Videoanrufe mit meiner Enkelin")  # typed text stays out of the list
    assert count(live_app, Feedback, SENT_HERE) == 0

    go_online(context, live_server)  # the `online` event sends it
    expect(item).to_contain_text("Gesendet")
    expect(page.locator("#status-bar")).not_to_contain_text("wartet")
    assert count(live_app, Feedback, SENT_HERE) == 1
    assert count(live_app, Feedback, Feedback.idempotency_key == key, Feedback.rating == 4) == 1

    # Every other trigger finds nothing left to send: still exactly one answer.
    page.reload()
    page.evaluate("Outbox.flush({force: true})")
    page.locator(".outbox__dismiss").click()
    expect(page.locator("#outbox")).to_have_count(0)
    assert count(live_app, Feedback, SENT_HERE) == 1


# --- c: booking ------------------------------------------------------------------------------------------------------

def test_booking_made_offline_becomes_a_ticket_that_opens_offline(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text(workshop.title)  # the person can tell their queued bookings apart
    expect(item).not_to_contain_text("Emine")  # what the person typed is not shown on every page
    assert count(live_app, Booking) == 0

    go_online(context, live_server)
    expect(item).to_contain_text("Gebucht")
    ticket = item.get_by_role("link", name="Ihr Ticket zeigen")
    expect(ticket).to_be_visible()
    booking = query(live_app, lambda: db.session.scalars(sa.select(Booking)).one())
    assert booking.idempotency_key == key and booking.status == BookingStatus.CONFIRMED
    expect(item).to_contain_text(booking.code)
    href = ticket.get_attribute("href")
    assert href == f"/t/{booking.manage_token}"
    wait_kept(page, href)

    go_offline(context, live_server)
    ticket.click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("main")).to_contain_text(booking.code)
    expect(page.locator(".pwa-copy")).to_be_visible()
    expect(page.locator("main svg").first).to_be_visible()  # the QR code is part of the page
    assert count(live_app, Booking) == 1


def test_same_form_sent_twice_offline_is_kept_once(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    # The person goes back and presses "book" again on the same form.
    page.evaluate("document.querySelector('form[data-outbox]').hidden = false")
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page.locator(".pwa-notice")).to_contain_text("Das ist schon auf Ihrem Telefon gespeichert")
    assert [i["key"] for i in outbox_items(page)] == [key]
    go_online(context, live_server)
    expect(page.locator(".outbox__item--done")).to_have_count(1)
    assert count(live_app, Booking) == 1


# --- d: the workshop changes before the replay ------------------------------------------------------------------------

def test_workshop_full_before_replay_puts_the_party_on_the_waiting_list(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    # Meanwhile, other people take every seat.
    execute(live_app, sa.update(Workshop).where(Workshop.id == workshop.id).values(seats_taken=Workshop.capacity))

    go_online(context, live_server)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Auf der Warteliste")
    expect(item).to_contain_text("Warteliste")
    expect(item.get_by_role("link", name="Ihren Platz auf der Warteliste zeigen")).to_be_visible()
    booking = query(live_app, lambda: db.session.scalars(sa.select(Booking)).one())
    assert booking.status == BookingStatus.WAITING and booking.idempotency_key == key


def test_workshop_cancelled_before_replay_is_refused_with_alternatives(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    execute(live_app, sa.update(Workshop).where(Workshop.id == workshop.id).values(status=WorkshopStatus.CANCELLED))

    go_online(context, live_server)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Nicht angenommen")
    expect(item).to_contain_text("Dieser Kurs wurde abgesagt.")
    expect(item).to_contain_text("Andere Kurse, die Sie buchen können:")
    alternatives = item.locator(".outbox__alternatives a")
    expect(alternatives.first).to_be_visible()
    assert re.fullmatch(r"/workshops/\d+/book", alternatives.first.get_attribute("href"))
    expect(item.locator(".outbox__alternatives")).to_contain_text(re.compile(r"\d+ Pl(atz|ätze) frei"))
    assert count(live_app, Booking) == 0
    # Kept until the person has read it and removes it.
    page.reload()
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Dieser Kurs wurde abgesagt.")
    page.locator(f".outbox__item[data-key='{key}'] .outbox__dismiss").click()
    expect(page.locator("#outbox")).to_have_count(0)
    assert outbox_items(page) == []


# --- e: a new release ---------------------------------------------------------------------------------------------

def test_new_release_replaces_the_old_caches(page, context, live_server, live_app):
    page.goto("/")
    controlled(page)
    wait_kept(page, "/")
    old = [n for n in cache_names(page) if n.startswith("dwb-static-")]
    assert len(old) == 1

    live_app.config["SW_RELEASE"] = "next"
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    poll(page, """old => caches.keys().then(names => {
        const fresh = names.filter(n => n.startsWith('dwb-static-'));
        return fresh.length === 1 && fresh[0] !== old;
    })""", old[0])
    names = cache_names(page)
    assert old[0] not in names
    assert pwa.PAGES_CACHE in names  # saved pages and tickets survive a release
    # The new worker serves offline at once, from its own caches.
    go_offline(context, live_server)
    page.reload()
    expect(page.locator(".pwa-copy")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") == "rgb(11, 79, 108)"


def test_kill_switch_retires_the_worker_and_its_caches(page, live_app):
    page.goto("/")
    controlled(page)
    wait_kept(page, "/")
    live_app.config["SW_KILL_SWITCH"] = True
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    poll(page, "() => navigator.serviceWorker.getRegistrations().then(rs => rs.length === 0)")
    poll(page, "() => caches.keys().then(names => names.every(n => !n.startsWith('dwb-')))")
    page.wait_for_load_state()
    page.goto("/")
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(rs => rs.length)") == 0
    assert page.evaluate("navigator.serviceWorker.controller") is None


# --- bad input ---------------------------------------------------------------------------------------------------

BROKEN_STORAGE = {
    "broken": ("indexedDB.open = function () { throw new DOMException('broken on purpose', 'UnknownError'); };",
               "der Speicher des Internet-Programms funktioniert nicht"),
    "quota": ("IDBObjectStore.prototype.add = function () {"
              " throw new DOMException('full on purpose', 'QuotaExceededError'); };",
              "der Speicher des Telefons ist voll"),
}


@pytest.mark.parametrize("problem", sorted(BROKEN_STORAGE))
def test_storage_that_fails_is_explained_and_the_form_sent_normally(page, context, live_server, live_app, problem):
    script, reason = BROKEN_STORAGE[problem]
    context.add_init_script(script)
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    go_offline(context, live_server)
    fill_booking(page, "Jana")
    submit = page.locator("form[data-outbox='booking'] button[type='submit']")
    submit.click()
    notice = page.locator(".pwa-notice")
    expect(notice).to_contain_text(f"Das konnte nicht auf Ihrem Telefon gespeichert werden ({reason}).")
    expect(notice).to_contain_text("Bitte lassen Sie diese Seite offen")
    # What the person typed is still there, to send once there is a connection.
    expect(page.locator("input[name='name']")).to_have_value("Jana")
    expect(page.locator("#status-bar")).to_contain_text("Formulare können auf diesem Telefon ohne Internet nicht aufbewahrt werden")

    go_online(context, live_server)
    submit.click()
    expect(page).to_have_url(re.compile(r"/t/[\w-]+$"))
    assert count(live_app, Booking) == 1


def test_outbox_database_deleted_while_the_page_is_open(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    poll(page, "() => Outbox.all().then(() => true)")
    assert page.evaluate("""() => new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('dwb-outbox');
        request.onsuccess = () => resolve(true);
        request.onerror = () => reject(request.error);
    })""")
    go_offline(context, live_server)
    key = fill_booking(page)
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
    assert [i["key"] for i in outbox_items(page)] == [key]
    go_online(context, live_server)
    expect(page.locator(".outbox__item--done")).to_have_count(1)
    assert count(live_app, Booking) == 1


def test_server_error_on_replay_keeps_the_item_and_tries_again(page, context, live_server, live_app):
    context.add_init_script(NO_BACKGROUND_SYNC)
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    answered = []

    def fail_posts(route):
        if route.request.method == "POST":
            answered.append(route.request.headers.get("x-outbox"))
            route.fulfill(status=500, content_type="application/json",
                          body='{"ok": false, "error": 500, "title": "x", "message": "x"}')
        else:
            route.continue_()

    context.route(f"**/workshops/{workshop.id}/book", fail_posts)
    go_online(context, live_server)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Noch nicht gesendet: Bei uns gab es ein Problem. Wir versuchen es wieder.")
    assert answered and set(answered) == {"1"}
    stored = outbox_items(page)
    assert len(stored) == 1 and stored[0]["state"] == "waiting" and stored[0]["attempts"] >= 1
    assert stored[0]["next_at"] > 0
    assert count(live_app, Booking) == 0

    context.unroute(f"**/workshops/{workshop.id}/book")
    page.get_by_role("button", name="Jetzt senden").click()
    expect(item).to_contain_text("Gebucht")
    assert count(live_app, Booking) == 1


def test_replay_for_a_deleted_workshop_is_explained_not_dropped(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    execute(live_app, sa.delete(Workshop).where(Workshop.id == workshop.id))

    go_online(context, live_server)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Nicht angenommen")
    expect(item).to_contain_text("Diesen Kurs gibt es nicht mehr.")
    page.reload()
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Diesen Kurs gibt es nicht mehr.")
    stored = outbox_items(page)
    assert stored[0]["state"] == "attention" and stored[0]["result"]["http"] == 404


def test_online_booking_is_a_normal_submit(page, live_app):
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    # An empty name: the server's answer with the error next to the field, what was typed kept.
    page.locator("input[name='consent']").check()
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("input[name='consent']")).to_be_checked()
    fill_booking(page, "Olga")
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page).to_have_url(re.compile(r"/t/[\w-]+$"))
    booking = query(live_app, lambda: db.session.scalars(sa.select(Booking)).one())
    expect(page.locator("main")).to_contain_text(booking.code)
    assert outbox_items(page) == []
    wait_kept(page, f"/t/{booking.manage_token}")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/workshops/{workshop.id}/book$"))


# --- without JavaScript, without service workers ------------------------------------------------------------------

def test_without_javascript_the_forms_are_plain_forms(browser, live_server, live_app):
    from tests.e2e.conftest import PHONE

    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="de-DE", java_script_enabled=False)
    try:
        page = context.new_page()
        workshop = bookable_workshop(live_app)
        page.goto(f"/workshops/{workshop.id}/book")
        expect(page.locator("#status-bar")).to_be_empty()
        fill_booking(page, "Karl")
        page.locator("form[data-outbox='booking'] button[type='submit']").click()
        expect(page).to_have_url(re.compile(r"/t/[\w-]+$"))
        assert count(live_app, Booking) == 1
    finally:
        context.close()


def test_without_service_workers_the_outbox_still_sends(browser, live_server, live_app):
    from tests.e2e.conftest import PHONE

    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="de-DE", service_workers="block")
    try:
        page = context.new_page()
        workshop = bookable_workshop(live_app)
        page.goto(f"/workshops/{workshop.id}/book")
        poll(page, "() => Outbox.all().then(() => true)")
        assert page.evaluate("navigator.serviceWorker ? navigator.serviceWorker.controller : null") is None
        go_offline(context, live_server)
        key = fill_booking(page)
        page.locator("form[data-outbox='booking'] button[type='submit']").click()
        expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
        go_online(context, live_server)
        expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gebucht")
        assert count(live_app, Booking) == 1
    finally:
        context.close()


@pytest.mark.parametrize("lock", ["web locks", "lease in IndexedDB"])
def test_triggers_firing_together_send_once(page, context, live_server, live_app, lock):
    if lock == "lease in IndexedDB":
        # Browsers without Web Locks: the lease and the per-item claim keep senders apart.
        context.add_init_script("Object.defineProperty(Navigator.prototype, 'locks', {get: () => undefined});")
    context.add_init_script(NO_BACKGROUND_SYNC)
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    posts = []

    def count_posts(route):
        if route.request.method == "POST":
            posts.append(route.request.url)
        route.continue_()

    context.route(f"**/workshops/{workshop.id}/book", count_posts)
    go_online(context, live_server)  # `online`, and Background Sync where the browser has it
    page.evaluate("Promise.all([Outbox.flush({force: true}), Outbox.flush({force: true}), Outbox.flush()])")
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gebucht")
    page.evaluate("Promise.all([Outbox.flush({force: true}), Outbox.flush({force: true})])")
    page.reload()
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gebucht")
    assert len(posts) == 1
    assert count(live_app, Booking) == 1


def test_server_error_page_falls_back_to_the_saved_copy(page, live_app, monkeypatch):
    page.goto("/")
    controlled(page)
    wait_kept(page, "/")
    monkeypatch.setitem(live_app.view_functions, "schedule.index", lambda: ("Service unavailable", 503))
    page.reload()
    expect(page.locator(".pwa-copy")).to_be_visible()
    expect(page.locator("main h1")).not_to_be_empty()


def test_the_worker_sends_the_outbox_on_sync(page, context, live_server, live_app):
    # Pages here never send by themselves, so what arrives was sent by the service worker's `sync` handler.
    context.add_init_script("""(() => {
        let kept;
        Object.defineProperty(window, 'Outbox', {configurable: true, get: () => kept, set: (value) => {
            value.flush = () => Promise.resolve({sent: 0, retry: true, busy: false});
            kept = value;
        }});
    })();""")
    workshop = bookable_workshop(live_app)
    key = book_offline(page, context, live_server, workshop.id)
    go_online(context, live_server)

    registrations = []
    cdp = context.new_cdp_session(page)
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    registration = next(r for r in registrations if not r["isDeleted"])
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": live_server.url, "registrationId": registration["registrationId"],
                                                 "tag": "dwb-outbox", "lastChance": False})
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gebucht")
    booking = query(live_app, lambda: db.session.scalars(sa.select(Booking)).one())
    assert booking.idempotency_key == key


def test_slow_network_shows_the_saved_copy_after_a_short_wait(page, live_app, monkeypatch):
    page.goto("/")
    controlled(page)
    wait_kept(page, "/")
    index = live_app.view_functions["schedule.index"]
    answer = threading.Event()

    returned = []

    def slow_index():
        answer.wait(30)
        returned.append(True)
        return index()

    monkeypatch.setitem(live_app.view_functions, "schedule.index", slow_index)
    try:
        page.reload()
        # The saved copy comes while the server is still holding its answer: the worker gave up waiting for it.
        expect(page.locator(".pwa-copy")).to_be_visible(timeout=20000)
        assert returned == [], "the page came from the network, not from the saved copy"
    finally:
        answer.set()


@pytest.mark.parametrize("kind", ["booking", "feedback"])
def test_replay_after_the_session_is_gone_gets_a_fresh_form_token(page, context, live_server, live_app, kind):
    context.add_init_script(NO_BACKGROUND_SYNC)
    if kind == "booking":
        key = book_offline(page, context, live_server, bookable_workshop(live_app).id)
    else:
        stop_id = query(live_app, lambda: db.session.scalar(
            sa.select(Stop.id).where(Stop.status == StopStatus.PUBLISHED, Stop.ends_at < utcnow())))
        page.goto(f"/f/{stop_id}")
        controlled(page)
        go_offline(context, live_server)
        page.locator("input[name='rating'][value='5']").check(force=True)
        key = page.locator("input[name='idempotency_key']").input_value()
        page.get_by_role("button", name="Rückmeldung senden").click()
        expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
    # Days later: the session cookie has expired, so the token in the stored form no longer matches.
    context.clear_cookies()
    go_online(context, live_server)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Gebucht" if kind == "booking" else "Gesendet")
    model = Booking if kind == "booking" else Feedback
    assert count(live_app, model, model.idempotency_key == key) == 1


def test_saved_booking_form_opens_offline_with_a_fresh_key(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    path = f"/workshops/{workshop.id}/book"
    page.goto(path)
    controlled(page)
    page.reload()  # now through the worker, which keeps it
    wait_kept(page, path)
    saved_key = page.locator("input[name='idempotency_key']").input_value()

    go_offline(context, live_server)
    page.reload()
    expect(page.locator(".pwa-copy")).to_be_visible()
    # Every showing of a form is a new submission: the saved copy's key is replaced, never reused.
    key = page.locator("input[name='idempotency_key']").input_value()
    assert key != saved_key and re.fullmatch(r"[0-9a-f-]{36}", key)
    fill_booking(page)
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
    go_online(context, live_server)
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gebucht")
    assert count(live_app, Booking, Booking.idempotency_key == key) == 1
