"""Personal data on the device: what the outbox keeps, pages saved while signed in, and removing one's tickets
from a shared device."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.core.extensions import db
from busapp.models import Booking, Stop, StopStatus, utcnow
from busapp.pwa import views as pwa
from tests.e2e.helpers import (
    book_offline, bookable_workshop, controlled, fill_booking, go_online, outbox_items, poll, query, wait_kept,
)

pytestmark = pytest.mark.browser


def kept_paths(page) -> list[str]:
    return page.evaluate("caches.open(%r).then(c => c.keys()).then(ks => ks.map(k => new URL(k.url).pathname))"
                         % pwa.PAGES_CACHE)


def test_the_outbox_keeps_no_personal_data_once_sent_nor_after_deleting_it(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    page.locator("input[name='contact']").fill("emine@example.org")
    page.locator("textarea[name='needs_note']").fill("Rollstuhl")
    key = book_offline(page, context, live_server, workshop.id)
    [item] = outbox_items(page)
    assert "Emine" not in item["summary"] and "Rollstuhl" not in item["summary"] and "example.org" not in item["summary"]
    assert workshop.title in item["title"] and "1 Person" in item["summary"]
    shown = page.locator(f".outbox__item[data-key='{key}']")
    expect(shown).not_to_contain_text("Emine")

    go_online(context, live_server)
    expect(shown).to_contain_text("Gebucht")
    stored = json.dumps(outbox_items(page))
    for personal in ("Emine", "emine@example.org", "Rollstuhl"):
        assert personal not in stored, personal
    href = shown.get_by_role("link", name="Ihr Ticket zeigen").get_attribute("href")
    wait_kept(page, href)

    # Deleting one's data also removes the booking from this device's outbox and saved pages.
    page.goto(href + "/forget")
    page.locator("main form button[type='submit']").click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    poll(page, "async () => (await Outbox.all()).length === 0")
    poll(page, """async ([name, path]) => {
        const copy = await (await caches.open(name)).match(path, {ignoreVary: true});
        return !copy || !(await copy.text()).includes("Emine");
    }""", [pwa.PAGES_CACHE, href])
    booking = query(live_app, lambda: db.session.scalars(sa.select(Booking)).one())
    assert booking.purged_at is not None and booking.name is None


def test_pages_rendered_signed_in_are_not_kept_and_go_at_sign_out(page, context, live_server, live_app):
    stop_id = query(live_app, lambda: db.session.scalar(
        sa.select(Stop.id).where(Stop.status == StopStatus.PUBLISHED, Stop.starts_at > utcnow())
        .order_by(Stop.starts_at)))
    page.goto("/")
    controlled(page)
    wait_kept(page, "/")
    # A copy saved by an earlier release while someone was signed in.
    page.evaluate("""async ([name, origin]) => {
        const cache = await caches.open(name);
        await cache.put(origin + "/d/old", new Response('<html><body data-signed-in><main>Coordinator</main></body></html>',
            {headers: {"Content-Type": "text/html", "X-Saved-At": "1"}}));
    }""", [pwa.PAGES_CACHE, live_server.url])

    page.goto("/signin")
    page.locator("input[name='email']").fill("coordinator@digitalbus.example")
    page.locator("input[name='password']").fill("demo-coordinator-bus")
    page.locator("main form button[type='submit']").click()
    expect(page.locator(".site-header")).to_contain_text("Abmelden")
    for path in ("/", f"/s/{stop_id}"):
        response = page.goto(path)
        assert "no-store" in response.headers["cache-control"], path
        expect(page.locator(".site-header")).to_contain_text("Abmelden")
    response = page.goto("/offline")  # a page the worker may keep, were it not rendered signed in
    assert "no-store" in response.headers["cache-control"]
    assert sorted(kept_paths(page)) == ["/", "/d/old"]
    cached = page.evaluate("caches.match('/', {ignoreVary: true}).then(r => r.text())")
    assert "Abmelden" not in cached

    page.locator(".site-header form[action$='/signout'] button").click()
    expect(page.locator("main")).to_contain_text("nicht angemeldet")
    poll(page, "async (name) => !(await (await caches.open(name)).keys()).some(r => new URL(r.url).pathname === '/d/old')",
         pwa.PAGES_CACHE)
    assert kept_paths(page) == ["/"]


@pytest.mark.parametrize("where", ["ticket", "offline"])
def test_remove_my_tickets_from_this_device(page, context, live_server, live_app, where):
    workshop = bookable_workshop(live_app)
    page.goto(f"/workshops/{workshop.id}/book")
    controlled(page)
    fill_booking(page, "Olga")
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page).to_have_url(re.compile(r"/t/[\w-]+$"))
    ticket = "/t/" + page.url.rsplit("/t/", 1)[1]
    wait_kept(page, ticket)
    # A settled booking from the outbox, as a replay would leave it.
    page.evaluate("""async (url) => {
        await Outbox.add({key: "k-settled-000000000", kind: "booking", action: "/workshops/1/book", fields: [],
                          title: "Kurs", summary: "1 Person"});
        const db = await Outbox.open();
        await new Promise((ok) => { const tx = db.transaction(["items"], "readwrite");
            const store = tx.objectStore("items"); const r = store.get("k-settled-000000000");
            r.onsuccess = () => { const it = r.result; it.state = "done"; it.result = {url: url}; store.put(it); };
            tx.oncomplete = ok; });
    }""", ticket)
    page.goto(ticket if where == "ticket" else "/offline")
    button = page.get_by_role("button", name="Meine Tickets von diesem Gerät entfernen")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator(".remove-tickets__done")).to_have_text("Ihre Tickets wurden von diesem Gerät entfernt.")
    assert not [p for p in kept_paths(page) if p.startswith("/t/")]
    assert outbox_items(page) == []
