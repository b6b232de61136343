"""Lost answers in a real browser: the server committed, the answer never reached the phone. The outbox item must
settle by itself, with the same key, while the page stays open (no reload), and the booking exists once."""
from __future__ import annotations

import time
from datetime import datetime, time as dt_time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.core.extensions import db
from busapp.models import Booking, Feedback, Place, Stop, StopStatus
from tests.e2e.helpers import (
    NO_BACKGROUND_SYNC, bookable_workshop, controlled, count, fill_booking, go_offline, go_online, query, wait_kept,
)

BERLIN = ZoneInfo("Europe/Berlin")

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


def test_the_bus_feedback_code_opens_offline_and_the_answer_counts_for_the_stop_it_was_given_at(
        page, context, live_server, live_app, monkeypatch):
    """/f is kept on the phone; an answer given offline at one stop and sent at the next counts for the first.

    Both clocks are the test's: the server's (feedback.rules.now) and the phone's (Playwright's clock). A day far
    ahead has two stops, 09:00-11:00 and 13:00-15:00; the answer is given at 10:00 without network and arrives at
    13:30, when the bus is at the second stop."""
    from busapp.feedback import rules

    day = datetime.now(BERLIN).date() + timedelta(days=800)
    at = lambda hour, minute=0: datetime.combine(day, dt_time(hour, minute), tzinfo=BERLIN)  # noqa: E731
    server_now = {"at": at(10)}
    monkeypatch.setattr(rules, "now", lambda: server_now["at"])

    def two_stops():
        place = db.session.scalars(sa.select(Place).order_by(Place.id)).first()
        stops = [Stop(district=place.district, place=place, starts_at=start, ends_at=start + timedelta(hours=2),
                      status=StopStatus.PUBLISHED) for start in (at(9), at(13))]
        db.session.add_all(stops)
        db.session.commit()
        return [stop.id for stop in stops]

    first, second = query(live_app, two_stops)
    assert query(live_app, lambda: (rules.bus_stop(at(10)).id, rules.bus_stop(at(13, 30)).id)) == (first, second)

    page.clock.set_fixed_time(at(10))
    page.goto("/f")
    controlled(page)
    page.goto("/f")
    wait_kept(page, "/f")
    go_offline(context, live_server)
    page.goto("/f")  # in the bus without reception: the saved copy
    expect(page.locator(".pwa-copy")).to_be_visible()
    key = page.locator("input[name='idempotency_key']").input_value()
    page.locator("input[name='rating'][value='5']").check(force=True)
    page.get_by_role("button", name="Rückmeldung senden").click()
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Noch nicht gesendet")

    server_now["at"] = at(13, 30)
    go_online(context, live_server)
    expect(page.locator(f".outbox__item[data-key='{key}']")).to_contain_text("Gesendet")

    def stored():
        row = db.session.scalars(sa.select(Feedback).where(Feedback.idempotency_key == key)).one()
        return row.stop_id, row.given_at

    assert query(live_app, stored) == (first, at(10))


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
