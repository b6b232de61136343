"""Keyboard only: from the home page to a booked seat with Tab, Shift+Tab, Enter, Space and the arrow keys.

No clicks. Every element that receives focus on the way must show it (an outline or a box-shadow ring, WCAG 2.4.7)
and be on screen (2.4.11); the skip link must be the first stop and must jump past the header into the content.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from busapp.core.extensions import db
from tests.e2e.helpers import bookable_stop, press, tab_until
from busapp.models import Booking, BookingStatus

def test_book_a_seat_with_the_keyboard_only(page, live_app):
    stop_id, workshop_id = bookable_stop(live_app)
    page.goto("/")

    # The skip link is the first thing Tab reaches, it shows, and Enter on it moves into the content.
    state = press(page, "Tab", "home")
    assert state["tag"] == "a" and state["href"] == "#main", f"the first Tab stop is not the skip link: {state}"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    state = press(page, "Tab", "home, after the skip link")
    assert state["in_main"], f"Tab after the skip link left the content: {state}"

    # Shift+Tab goes back out of the content (the skip target itself is not a Tab stop), Tab comes back to it.
    back = press(page, "Shift+Tab", "home")
    assert not back["in_main"], f"Shift+Tab from the first element of the content stayed inside: {back}"
    again = press(page, "Tab", "home")
    assert (again["tag"], again["href"], again["text"]) == (state["tag"], state["href"], state["text"])

    tab_until(page, lambda s: re.fullmatch(rf"/s/{stop_id}(\?.*)?", s["href"]), "home, to the stop")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(rf"/s/{stop_id}\b", page.url)

    tab_until(page, lambda s: s["href"].startswith(f"/workshops/{workshop_id}/book"), "stop page, to Book a seat")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"/workshops/{workshop_id}/book" in page.url

    # The form: type the name, choose two people with the arrow keys, tick the consent with Space, send with Enter.
    tab_until(page, lambda s: s["name"] == "name", "booking form, to the name")
    page.keyboard.type("Käthe Tastatur")
    tab_until(page, lambda s: s["name"] == "party_size", "booking form, to the party size")
    state = press(page, "ArrowDown", "party size")
    assert state["name"] == "party_size" and state["value"] == "2" and state["checked"], state
    press(page, "Shift+Tab", "party size")  # back to the name, which keeps what was typed
    assert page.input_value("#name") == "Käthe Tastatur"
    tab_until(page, lambda s: s["name"] == "party_size", "booking form, back to the party size")
    tab_until(page, lambda s: s["name"] == "contact", "booking form, to the contact")
    page.keyboard.type("kaethe@example.org")
    state = tab_until(page, lambda s: s["name"] == "consent", "booking form, to the consent")
    assert not state["checked"]
    state = press(page, "Space", "consent")
    assert state["checked"], "Space did not tick the consent box"
    tab_until(page, lambda s: s["tag"] == "button" and s["type"] == "submit", "booking form, to the button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))

    ticket = page.locator("main").inner_text()
    with live_app.app_context():
        booking = db.session.scalars(sa.select(Booking).where(Booking.name == "Käthe Tastatur")).one()
        assert booking.workshop_id == workshop_id
        assert booking.party_size == 2 and booking.contact == "kaethe@example.org"
        assert booking.status == BookingStatus.CONFIRMED
        # The code is shown in groups for reading aloud ("RDY JR8").
        assert booking.code in re.sub(r"\s", "", ticket) and page.url.endswith(f"/t/{booking.manage_token}")


def test_language_menu_changes_the_language_only_when_chosen(page):
    """The globe opens the list with Enter; moving through it changes nothing (WCAG 3.2.2 On Input); Enter on a
    language chooses it."""
    page.goto("/barrierefreiheit")
    tab_until(page, lambda s: s["tag"] == "summary", "language picker")
    press(page, "Enter", "language picker")
    assert page.locator(".lang-picker").get_attribute("open") is not None
    # Moving through the list must not leave the page: no navigation request may start on the way. Each step of
    # tab_until asks the page where the focus is, so a navigation started by the focus would be on its way by then.
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.is_navigation_request() else None)
    state = tab_until(page, lambda s: s["href"].endswith("lang=en&remember=1"), "language list, to English")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r)))")
    assert requests == [], requests
    assert page.evaluate("document.documentElement.lang") == "de" and page.url.endswith("/barrierefreiheit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # Back on the same, clean address (the switch's own parameters are gone), and the choice is kept.
    assert page.evaluate("document.documentElement.lang") == "en" and page.url.endswith("/barrierefreiheit")
    page.goto("/")
    assert page.evaluate("document.documentElement.lang") == "en"
