"""Keyboard only: from the home page to a booked seat with Tab, Shift+Tab, Enter, Space and the arrow keys.

No clicks. Every element that receives focus on the way must show it (an outline or a box-shadow ring, WCAG 2.4.7)
and be on screen (2.4.11); the skip link must be the first stop and must jump past the header into the content.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from busapp.extensions import db
from busapp.models import Booking, BookingStatus, Stop, StopStatus, Workshop, WorkshopStatus, utcnow

MAX_TABS = 250

# What the focused element looks like: enough to tell a visible focus from an invisible one, and to say which
# element it was when it is not. A radio or checkbox drawn by its label may show the ring on the label instead.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return {none: true};
  // A card-sized link may draw its ring on a ::before/::after that covers the card.
  const ring = (node) => {
    let style = '';
    for (const pseudo of [null, '::after', '::before']) {
      const cs = getComputedStyle(node, pseudo);
      if (pseudo && cs.content === 'none') continue;
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1;
      const shadow = !!cs.boxShadow && cs.boxShadow !== 'none';
      style += `${pseudo || ''} outline: ${cs.outlineStyle} ${cs.outlineWidth}; box-shadow: ${cs.boxShadow}. `;
      if (outline || shadow) return {outline, shadow, style};
    }
    return {outline: false, shadow: false, style};
  };
  let shown = ring(el);
  let box = el.getBoundingClientRect();
  if (!(shown.outline || shown.shadow) && el.labels && el.labels.length) {
    const labelRing = ring(el.labels[0]);
    if (labelRing.outline || labelRing.shadow) { shown = labelRing; box = el.labels[0].getBoundingClientRect(); }
  }
  const main = document.getElementById('main');
  return {
    none: false,
    tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '', name: el.name || '',
    href: el.getAttribute('href') || '', text: (el.innerText || el.value || '').trim().slice(0, 60),
    checked: !!el.checked, value: el.value || '',
    ring: shown.outline || shown.shadow, style: shown.style,
    on_screen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight &&
               box.right > 0 && box.left < window.innerWidth,
    in_main: !!(main && main.contains(el)), is_main: el === main,
  };
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUS_STATE)


def assert_focus_visible(state: dict, where: str) -> None:
    assert not state["none"], f"{where}: nothing has focus"
    label = f"<{state['tag']} id={state['id']!r} href={state['href']!r}> {state['text']!r}"
    assert state["ring"], f"{where}: focus not visible on {label} ({state['style']})"
    assert state["on_screen"], f"{where}: focused {label} is off screen"


def press(page, key: str, where: str) -> dict:
    page.keyboard.press(key)
    state = focused(page)
    assert_focus_visible(state, f"{where}, after {key}")
    return state


def tab_until(page, wanted, where: str, key: str = "Tab") -> dict:
    """Press Tab until the focused element is the wanted one, checking the focus ring on every stop."""
    seen = []
    for _ in range(MAX_TABS):
        state = press(page, key, where)
        if wanted(state):
            return state
        seen.append(f"{state['tag']}:{state['href'] or state['name'] or state['text'][:20]}")
    raise AssertionError(f"{where}: not reached with {MAX_TABS} x {key}; focus went through {seen[-40:]}")


def _bookable(live_app) -> tuple[int, int]:
    """The soonest upcoming stop with a workshop that has seats, and that workshop."""
    with live_app.app_context():
        now = utcnow()
        workshop = db.session.scalars(
            sa.select(Workshop).join(Stop).where(
                Stop.status == StopStatus.PUBLISHED, Workshop.status == WorkshopStatus.PUBLISHED,
                Workshop.starts_at > now, Workshop.capacity - Workshop.seats_taken >= 2)
            .order_by(Stop.starts_at, Workshop.starts_at).limit(1)
        ).one()
        return workshop.stop_id, workshop.id


def test_book_a_seat_with_the_keyboard_only(page, live_app):
    stop_id, workshop_id = _bookable(live_app)
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


def test_language_menu_changes_the_language_only_when_sent(page):
    """Arrow keys on the language menu must not switch the page (WCAG 3.2.2 On Input); its button does."""
    page.goto("/barrierefreiheit")
    state = tab_until(page, lambda s: s["id"] == "lang-select", "language menu")
    press(page, "ArrowDown", "language menu")
    page.wait_for_timeout(500)  # long enough for a submit on change to have started
    assert page.evaluate("document.documentElement.lang") == "de" and page.url.endswith("/barrierefreiheit")
    assert page.input_value("#lang-select") == "en"
    state = press(page, "Tab", "language menu")
    assert state["tag"] == "button" and state["type"] == "submit", state
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # Back on the same, clean address (the switch's own parameters are gone), and the choice is kept.
    assert page.evaluate("document.documentElement.lang") == "en" and page.url.endswith("/barrierefreiheit")
    page.goto("/")
    assert page.evaluate("document.documentElement.lang") == "en"
