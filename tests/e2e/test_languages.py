"""Every resident in their language, in a real browser: axe on every resident page kind in every added language
on the narrowest phone (320 px, which is also 200 % zoom of a 640 px window), with no sideways scrolling in the same
page load, right-to-left layout at 1024 px, a keyboard booking in Arabic, bookings in Turkish and in Leichte Sprache
from the home page to the ticket, a feedback in Arabic, and the offline scripts' plural forms by Intl.PluralRules.

The visitor's browser asks for the language with Accept-Language, as a phone set to that language does; Leichte
Sprache has no browser setting, so it is chosen with the picker in the header and remembered."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, Feedback
from tests.e2e.conftest import PHONE
from tests.e2e.pagelist import FEEDBACK_SUBMIT, all_public_targets, demo_site, open_target
from tests.e2e.helpers import (
    NARROW, OVERFLOW, axe_violations, bookable_stop, describe, feedback_sent, press, sideways, tab_until,
)

ROOT = Path(__file__).resolve().parents[2]
ADDED = ["tr", "uk", "ar", "pl", "ru", "fa", "de-x-ls"]
RTL = ["ar", "fa"]


def _context(browser, base_url: str, tag: str, viewport=PHONE, **options):
    """A browser profile in this language: the phone's own language, or for Leichte Sprache the remembered pick."""
    if "-x-" not in tag:
        return browser.new_context(viewport=viewport, base_url=base_url, locale=tag, **options)
    context = browser.new_context(viewport=viewport, base_url=base_url, locale="de-DE", **options)
    page = context.new_page()
    choose_language(page, tag)
    page.close()
    return context


def choose_language(page, tag: str) -> None:
    """The header's picker: a tap on the globe opens the list, a tap on the language chooses it (remembered)."""
    if not page.url.startswith("http"):
        page.goto("/")
    page.click(".lang-picker summary")
    with page.expect_navigation():
        page.click(f".lang-picker a[data-lang-switch='{tag}']")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("languages")) as s:
        yield s


def _rate_four_and_send(page) -> None:
    """The feedback thank-you, reached the way a finger does: a tap on the fourth face's tile, then Send."""
    page.click("label[for=rating-3]")
    page.locator(FEEDBACK_SUBMIT).click()
    page.wait_for_selector("#thanks", state="attached")
    page.wait_for_load_state("load")


def resident_targets(site, tag: str | None = None) -> list:
    """Every resident page kind; the demo's tickets were booked in German and open in German unless asked for
    another language, so they are opened with ?lang= in the language under test."""
    return [replace(t, action=_rate_four_and_send) if t.name == "feedback thank-you" else t
            for t in all_public_targets(site, tag)]


@pytest.mark.parametrize("tag", ADDED)
def test_every_resident_page_kind_has_no_axe_violation(browser, site, tag):
    context = _context(browser, site.url, tag, NARROW, device_scale_factor=2)
    page = context.new_page()
    problems = []
    try:
        for target in resident_targets(site, tag):
            open_target(page, target)
            lang = page.evaluate("[document.documentElement.lang, document.documentElement.dataset.lang || '']")
            assert lang == ([tag, ""] if tag != "de-x-ls" else ["de", "de-x-ls"]), (target.name, lang)
            _, violations = axe_violations(page)
            if violations:
                problems.append(describe(f"{target.name} [{tag}]", target.path, violations))
            overflow = sideways(page, f"{target.name} ({target.path}) at 320 px in {tag}", f"320-{tag}-{target.name}")
            if overflow:
                problems.append(overflow)
    finally:
        context.close()
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("width", [1024])
@pytest.mark.parametrize("tag", RTL)
def test_right_to_left_pages_fit_without_sideways_scrolling(browser, site, tag, width):
    """Every resident page laid out right to left on a tablet (the phone's 320 px is checked with axe above);
    screenshots of the main ones are kept for people to look at."""
    context = _context(browser, site.url, tag, {"width": width, "height": 800})
    page = context.new_page()
    shots = ROOT / "test-artifacts" / "rtl"
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    try:
        for target in resident_targets(site, tag):
            open_target(page, target)
            assert page.evaluate("document.documentElement.dir") == "rtl", target.name
            found = page.evaluate(OVERFLOW)
            if target.name in ("home", "stop", "booking form", "ticket", "feedback form") or \
                    found["scrollWidth"] > found["clientWidth"]:
                page.screenshot(path=str(shots / f"{tag}-{width}-{target.name.replace(' ', '-')}.png"), full_page=True)
            if found["scrollWidth"] > found["clientWidth"]:
                problems.append(f"{target.name} at {width} px in {tag}: {found}")
        # Right to left for real: the header's brand sits at the right edge, the language picker at the left.
        page.goto("/")
        brand = page.locator(".brand").bounding_box()
        picker = page.locator(".lang-picker").bounding_box()
        if width >= 1024:
            assert brand["x"] > picker["x"], (brand, picker)
        assert page.evaluate("getComputedStyle(document.querySelector('.brand img')).transform") != "none"
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_offline_scripts_have_a_sentence_for_every_plural_category_intl_picks(browser, site):
    """Intl.PluralRules in the browser picks the form; the page carries every category the language uses."""
    for tag in ("ar", "pl", "ru", "uk"):
        context = _context(browser, site.url, tag)
        page = context.new_page()
        try:
            page.goto("/")
            result = page.evaluate("""() => {
              const S = JSON.parse(document.getElementById('pwa-strings').getAttribute('content'));
              const rules = new Intl.PluralRules(document.documentElement.lang);
              const missing = [];
              const picked = {};
              for (let n = 0; n <= 250; n++) {
                const form = rules.select(n);
                picked[form] = S.seats_free[form];
                if (!S.seats_free[form] || !S.waiting[form]) missing.push(n + ':' + form);
              }
              return {missing, picked, categories: rules.resolvedOptions().pluralCategories};
            }""")
        finally:
            context.close()
        assert not result["missing"], (tag, result)
        assert set(result["picked"]) == set(result["categories"]) - {"other"} | ({"other"} if tag == "ar" else set())
        if tag == "ar":
            assert len(result["picked"]) == 6 and len(set(result["picked"].values())) == 6, result["picked"]
        else:
            assert len(set(result["picked"].values())) == 3, (tag, result["picked"])


def _book_from_home(page, stop_id: int, workshop_id: int, name: str) -> None:
    page.goto("/")
    page.locator(f"a[href^='/s/{stop_id}']").first.click()
    page.wait_for_url(re.compile(rf"/s/{stop_id}\b"))
    page.locator(f"a[href^='/workshops/{workshop_id}/book']").first.click()
    page.wait_for_url(re.compile(rf"/workshops/{workshop_id}/book"))
    page.fill("#name", name)
    page.locator("label[for=party_size-1]").click()
    page.locator("#consent").check()
    page.locator("form.booking-form [type=submit]").click()
    page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))


@pytest.mark.parametrize("tag, expect", [
    ("tr", ["Biletiniz", "Rezervasyon kodu", "Takvime ekle"]),
    ("de-x-ls", ["Ihr Ticket", "Ihr Code", "In den Kalender eintragen"]),
])
def test_browser_booking_from_home_to_ticket(browser, live_server, live_app, tag, expect):
    context = _context(browser, live_server.url, tag)
    page = context.new_page()
    stop_id, workshop_id = bookable_stop(live_app)
    name = f"Deneme {tag}"
    _book_from_home(page, stop_id, workshop_id, name)
    text = page.locator("main").inner_text()
    for words in expect:
        assert words in text, (words, text[:400])
    with live_app.app_context():
        booking = db.session.scalars(sa.select(Booking).where(Booking.name == name)).one()
        assert booking.status == BookingStatus.CONFIRMED and booking.party_size == 2
        assert booking.locale == {"tr": "tr", "de-x-ls": "de@ls"}[tag]
    context.close()


def test_keyboard_booking_in_arabic(browser, live_server, live_app):
    context = _context(browser, live_server.url, "ar")
    page = context.new_page()
    stop_id, workshop_id = bookable_stop(live_app)
    page.goto("/")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    state = press(page, "Tab", "home")
    assert state["href"] == "#main" and state["text"] == "انتقل إلى المحتوى", state
    tab_until(page, lambda s: re.fullmatch(rf"/s/{stop_id}(\?.*)?", s["href"]), "home, to the stop")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_until(page, lambda s: s["href"].startswith(f"/workshops/{workshop_id}/book"), "stop, to booking")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # Send it empty first (the server's messages, as browsers without their own form check get them): the
    # messages come in the fields' order, in Arabic.
    page.evaluate("document.querySelector('form.booking-form').noValidate = true")
    tab_until(page, lambda s: s["tag"] == "button" and s["type"] == "submit" and s["in_main"],
              "booking form, to the button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary", state="attached")
    summary = page.locator("#error-summary").inner_text()
    assert "يرجى التحقق مما أدخلته" in summary, summary
    name_error, consent_error = "يرجى كتابة اسم أو اسم مستعار.", "يرجى الموافقة على إشعار الخصوصية"
    assert 0 <= summary.index(name_error) < summary.index(consent_error), summary
    tab_until(page, lambda s: s["name"] == "name", "booking form, to the name")
    page.keyboard.type("سلمى")
    tab_until(page, lambda s: s["name"] == "party_size", "booking form, to the party size")
    state = press(page, "ArrowDown", "party size")
    assert state["name"] == "party_size" and state["value"] == "2" and state["checked"], state
    state = tab_until(page, lambda s: s["name"] == "consent", "booking form, to the consent")
    if not state["checked"]:
        press(page, "Space", "consent")
    tab_until(page, lambda s: s["tag"] == "button" and s["type"] == "submit" and s["in_main"],
              "booking form, to the button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))
    assert "تذكرتك" in page.locator("h1").inner_text()
    with live_app.app_context():
        booking = db.session.scalars(sa.select(Booking).where(Booking.name == "سلمى")).one()
        assert booking.workshop_id == workshop_id and booking.locale == "ar"
        assert booking.status == BookingStatus.CONFIRMED
    context.close()


def test_feedback_in_arabic(browser, live_server, live_app, open_stop_id):
    context = _context(browser, live_server.url, "ar")
    page = context.new_page()
    page.goto(f"/f/{open_stop_id}")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert "كيف" in page.locator("main").inner_text()
    page.click("label[for=rating-4]")
    page.fill("#learned", "كيف أرسل صورة")
    page.click("button.feedback-form__send")
    page.wait_for_selector("#thanks")
    assert "شكرًا!" in page.inner_text("#thanks")
    records = feedback_sent(live_app)
    assert [(r.rating, r.learned, r.locale) for r in records] == [(5, "كيف أرسل صورة", "ar")]
    assert all(isinstance(r, Feedback) for r in records)
    context.close()


def test_a_link_in_arabic_holds_through_booking_to_the_ticket_on_a_german_browser(browser, live_server, live_app):
    """/s/<id>?lang=ar on a phone set to German: the form, the booking and the ticket stay Arabic, and the ticket
    opened again later without ?lang= is still Arabic, as it was booked in Arabic."""
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    stop_id, workshop_id = bookable_stop(live_app)
    try:
        page.goto(f"/s/{stop_id}?lang=ar")
        page.locator(f"a[href^='/workshops/{workshop_id}/book']").first.click()
        page.wait_for_url(re.compile(rf"/workshops/{workshop_id}/book\?lang=ar$"))
        assert page.evaluate("document.documentElement.lang") == "ar"
        page.fill("#name", "سلمى")
        page.locator("#consent").check()
        page.locator("form.booking-form [type=submit]").click()
        page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_-]+\?lang=ar$"))
        assert "تذكرتك" in page.locator("h1").inner_text()
        ticket = page.url.split("?")[0]
        page.goto("/")
        assert page.evaluate("document.documentElement.lang") == "de"  # the phone's own language elsewhere
        page.goto(ticket)
        assert page.evaluate("document.documentElement.lang") == "ar"
        assert "تذكرتك" in page.locator("h1").inner_text()
        assert page.context.cookies() == [] or all(c["name"] == "session" for c in page.context.cookies())
    finally:
        context.close()
    with live_app.app_context():
        booking = db.session.scalars(sa.select(Booking).where(Booking.name == "سلمى")).one()
        assert booking.locale == "ar" and booking.workshop_id == workshop_id
