"""Lost answers in a real browser: the server committed, the answer never reached the phone. The outbox item must
settle by itself, with the same key, while the page stays open (no reload), and the booking exists once."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.models import Booking, Feedback, Stop, StopStatus, utcnow
from busapp.extensions import db
from tests.e2e.test_offline import NO_BACKGROUND_SYNC, bookable_workshop, controlled, count, fill_booking, query

pytestmark = pytest.mark.browser

SETTLE_SECONDS = 10


def lose_answers(context, pattern: str, how_many: int) -> list[str]:
    """The first `how_many` POSTs reach the server (which commits) but their answers are cut off."""
    seen: list[str] = []

    def handler(route):
        if route.request.method != "POST":
            route.continue_()
            return
        seen.append(route.request.headers.get("x-outbox") or "form")
        if len(seen) <= how_many:
            route.fetch()  # the server handles it in full
            route.abort("connectionreset")
        else:
            route.continue_()

    context.route(pattern, handler)
    return seen


def test_a_booking_whose_answers_are_lost_settles_without_a_reload(page, context, live_app):
    context.add_init_script(NO_BACKGROUND_SYNC)  # only the page sends; every request passes the route
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    key = fill_booking(page, "Ilse")
    # The form's own answer and the outbox's first replay are both lost after the commit.
    seen = lose_answers(context, f"**/workshops/{workshop.id}/book", 2)

    started = time.monotonic()
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Gebucht", timeout=SETTLE_SECONDS * 1000)
    assert time.monotonic() - started < SETTLE_SECONDS
    assert seen[:3] == ["form", "1", "1"]
    assert count(live_app, Booking) == 1
    assert count(live_app, Booking, Booking.idempotency_key == key) == 1
    assert page.evaluate("Outbox.all()")[0]["state"] == "done"


def test_an_item_left_claimed_by_a_closed_page_is_sent_again_while_this_one_stays_open(page, context, live_app):
    """A page claimed the item (a lease of half a minute), sent it, the server committed, and the page was closed
    before the answer came. The page still open takes the item over within seconds, without a reload."""
    context.add_init_script(NO_BACKGROUND_SYNC)
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    key = fill_booking(page, "Hanne")
    page.evaluate("""async ([key]) => {
        const form = document.querySelector("form[data-outbox='booking']");
        const fields = Array.from(new FormData(form).entries());
        // The closed page's request: it reached the server, its answer did not reach anyone.
        await fetch(form.action, {method: "POST", body: new URLSearchParams(fields),
                                  headers: {"Accept": "application/json", "X-Outbox": "1"}});
        const db = await Outbox.open();
        await new Promise((resolve, reject) => {
            const tx = db.transaction(["items"], "readwrite");
            tx.objectStore("items").put({
                key, kind: "booking", action: form.action, fields, title: "", summary: "", page: location.href,
                created_at: Date.now(), state: "waiting", attempts: 0, next_at: 0,
                lease_until: Date.now() + 60000, last_error: "", status: 0, result: null,
            });
            tx.oncomplete = resolve;
            tx.onerror = reject;
        });
        // What the closed page's change would have told the others.
        new BroadcastChannel("dwb-outbox").postMessage("changed");
    }""", [key])
    assert count(live_app, Booking) == 1
    started = time.monotonic()
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Gebucht", timeout=SETTLE_SECONDS * 1000)
    assert time.monotonic() - started < SETTLE_SECONDS
    assert count(live_app, Booking) == 1


def test_the_bus_feedback_code_opens_offline_and_the_answer_keeps_its_time(page, context, live_server, live_app):
    """/f is kept on the phone; an answer given offline is sent later with the time it was given."""
    from tests.e2e.test_offline import go_offline, go_online, wait_kept

    def current_stop():
        from busapp.feedback import rules

        stop = rules.bus_stop(utcnow())
        return stop.id if stop is not None else None

    stop_id = query(live_app, current_stop)
    if stop_id is None:
        # The demo tour has no stop at this hour: put one on now, so the bus is somewhere.
        def add():
            from datetime import timedelta

            stop = db.session.scalars(sa.select(Stop).where(Stop.status == StopStatus.PUBLISHED)).first()
            stop.starts_at, stop.ends_at = utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=2)
            db.session.commit()
            return stop.id

        stop_id = query(live_app, add)
    page.goto(f"/f/{stop_id}")
    controlled(page)
    page.goto("/f")
    wait_kept(page, "/f", f"/f/{stop_id}")
    go_offline(context, live_server)
    page.goto(f"/f/{stop_id}")  # a stop's form opened before opens offline, too
    expect(page.locator(".pwa-copy")).to_be_visible()
    expect(page.locator("form[data-outbox='feedback']")).to_be_visible()
    page.goto("/f")  # in the bus without reception: the saved copy
    expect(page.locator(".pwa-copy")).to_be_visible()
    key = page.locator("input[name='idempotency_key']").input_value()
    page.locator("input[name='rating'][value='5']").check(force=True)
    before = time.time()
    page.get_by_role("button", name="Rückmeldung senden").click()
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Noch nicht gesendet")
    time.sleep(1.5)
    go_online(context, live_server)
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gesendet")

    def stored():
        row = db.session.scalars(sa.select(Feedback).where(Feedback.idempotency_key == key)).one()
        return row.stop_id, row.given_at, row.created_at

    stored_stop, given_at, created_at = query(live_app, stored)
    assert stored_stop == stop_id
    assert before - 1 <= given_at.timestamp() <= before + 1.5
    assert created_at > given_at


def test_a_503_before_the_commit_is_kept_and_sent_again_not_shown_as_a_failure(page, context, live_app):
    """The database is away: the server answers 503 with Retry-After, for the form and for the outbox's replay."""
    context.add_init_script(NO_BACKGROUND_SYNC)
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    key = fill_booking(page, "Greta")
    seen: list[str] = []

    def away_twice(route):
        if route.request.method != "POST":
            route.continue_()
            return
        seen.append(route.request.headers.get("x-outbox") or "form")
        if len(seen) <= 2:
            json = seen[-1] == "1"
            route.fulfill(status=503, headers={"Retry-After": "1"},
                          content_type="application/json" if json else "text/html",
                          body='{"ok": false, "error": 503}' if json else "<!doctype html><title>503</title>")
        else:
            route.continue_()

    context.route(f"**/workshops/{workshop.id}/book", away_twice)
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Gebucht", timeout=SETTLE_SECONDS * 1000)
    assert seen[:3] == ["form", "1", "1"]
    assert count(live_app, Booking, Booking.idempotency_key == key) == 1
