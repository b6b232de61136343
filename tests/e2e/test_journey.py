"""My bookings on this phone, offline; sending the ticket to oneself (Web Share, else copy, else mailto:)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from busapp.models import Booking
from tests.e2e.helpers import (
    bookable_workshop, controlled, fill_booking, go_offline, go_online, query, wait_kept,
)
from busapp.core.extensions import db

import sqlalchemy as sa


def book_online(page, workshop_id: int) -> str:
    page.goto(f"/workshops/{workshop_id}/book")
    controlled(page)
    fill_booking(page, "Emine")
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    page.wait_for_url(re.compile(r"/t/[\w-]+$"))
    return page.url


def test_my_bookings_lists_the_ticket_and_opens_it_offline(page, context, live_server, live_app):
    workshop = bookable_workshop(live_app)
    ticket_url = book_online(page, workshop.id)
    path = "/" + ticket_url.split("/", 3)[3]
    wait_kept(page, path)
    page.goto("/")
    page.get_by_role("link", name="Meine Buchungen auf diesem Handy").click()
    expect(page).to_have_url(re.compile(r"/my-bookings$"))
    entry = page.locator("#my-bookings a.my-bookings__link")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(workshop.title)
    wait_kept(page, "/my-bookings")

    go_offline(context, live_server)
    page.goto("/my-bookings")
    expect(page.locator("#my-bookings a.my-bookings__link")).to_have_count(1)
    page.locator("#my-bookings a.my-bookings__link").click()
    code = query(live_app, lambda: db.session.scalars(sa.select(Booking.code)).one())
    expect(page.locator("main")).to_contain_text(code)
    expect(page.locator(".pwa-copy")).to_be_visible()
    go_online(context, live_server)


def test_send_this_ticket_uses_the_share_sheet_then_the_clipboard(page, context, live_app):
    workshop = bookable_workshop(live_app)
    context.add_init_script("""
      window.__shared = [];
      Object.defineProperty(navigator, 'share', {value: (data) => { window.__shared.push(data); return Promise.resolve(); },
                                                 configurable: true});
    """)
    ticket_url = book_online(page, workshop.id)
    page.get_by_role("link", name="Ticket an mich schicken").click()
    shared = page.evaluate("window.__shared")
    assert len(shared) == 1 and shared[0]["url"].endswith("/t/" + ticket_url.rsplit("/t/", 1)[1])
    expect(page).to_have_url(ticket_url)  # no mail program was opened

    # Without a share sheet: the link is copied and the page says so.
    page.evaluate("""() => { delete navigator.share; Object.defineProperty(navigator, 'share', {value: undefined, configurable: true});
      window.__copied = []; Object.defineProperty(navigator, 'clipboard', {value: {writeText: (t) => { window.__copied.push(t); return Promise.resolve(); }},
      configurable: true}); }""")
    page.get_by_role("link", name="Ticket an mich schicken").click()
    expect(page.locator("[data-share-status]")).to_contain_text("kopiert")
    assert page.evaluate("window.__copied")[0].endswith(ticket_url.rsplit("/t/", 1)[1])


def test_print_button_shows_with_javascript(page, live_app):
    workshop = bookable_workshop(live_app)
    book_online(page, workshop.id)
    expect(page.get_by_role("button", name="Ticket drucken")).to_be_visible()
