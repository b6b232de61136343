"""The door on a 10-inch tablet with touch, landscape (1024 x 768) and portrait (768 x 1024): every answer online,
refusals and errors included, replaces the answer before it and names the code or the person it is about; the
code field is empty after every answer."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from busapp.core import tickets
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, District, Place, Stop, StopStatus, Workshop, utcnow
from tests.e2e.helpers import (
    arrived, new_tablet, offline_check_in_waiting, query, staff_sign_in as sign_in, wait_pages_kept, wait_prepared, y4m_video,
)

pytestmark = pytest.mark.browser

VIEWPORTS = {"landscape": {"width": 1024, "height": 768}, "portrait": {"width": 768, "height": 1024}}


def _booking(workshop, code, name, status=BookingStatus.CONFIRMED, size=1):
    return Booking(workshop=workshop, party_size=size, name=name, status=status, code=code,
                   manage_token=secrets.token_urlsafe(24), idempotency_key=secrets.token_hex(16),
                   confirmed_at=utcnow() if status == BookingStatus.CONFIRMED else None)


@pytest.fixture
def door(bus):
    """The bus of test_checkin with valid tickets to spare, each kind of refusal, and a workshop that has started."""
    app, server, ids = bus

    def add():
        with db.session.no_autoflush:
            workshop = db.session.get(Workshop, ids["workshop"])
            stop = workshop.stop
            now = utcnow().replace(microsecond=0)
            other = Workshop(stop=stop, title="Sicher online", topic="online_safety", starts_at=now + timedelta(hours=2),
                             capacity=8, seats_taken=1)
            started = Workshop(stop=stop, title="Tablet-Sprechstunde", topic="tablet", starts_at=now - timedelta(minutes=20),
                               capacity=8, seats_taken=1)
            district = stop.district
            tomorrow = Stop(district=district, place=Place(district=district, name="Rathaus", address="Breite Str. 62"),
                            starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=3),
                            status=StopStatus.PUBLISHED)
            later = Workshop(stop=tomorrow, title="E-Mail", topic="email", starts_at=now + timedelta(days=1, hours=1),
                             capacity=8, seats_taken=1)
            valid = [_booking(workshop, f"VALID{n}", f"Gast {n}") for n in range(1, 8)]
            workshop.capacity, workshop.seats_taken = 12, workshop.seats_taken + len(valid)  # one seat free
            refused = {
                "cancelled": _booking(workshop, "STORN1", "Storniert Person", BookingStatus.CANCELLED),
                "waiting": _booking(workshop, "WARTE1", "Warte Person", BookingStatus.WAITING),
                "other_workshop": _booking(other, "ANDER1", "Andere Person"),
                "other_stop": _booking(later, "MORGEN", "Morgen Person"),
            }
            absent = _booking(started, "FEHLT1", "Nicht Gekommen")
            db.session.add_all([other, started, tomorrow, later, absent, *valid, *refused.values()])
            db.session.commit()
            forged = tickets.sign(refused["other_workshop"])
            forged = forged[:-6] + ("A" if forged[-6] != "A" else "B") + forged[-5:]
            return {"started": started.id, "forged": forged}

    with app.app_context():
        try:
            ids.update(add())
        finally:
            db.session.remove()
    return app, server, ids


def _tablet(browser, server, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport], has_touch=True, is_mobile=False,
                                  base_url=server.url, locale="de-DE")
    page = context.new_page()
    sign_in(page, server.url)
    return context, page


def _type_code(page, code):
    page.fill("#code", code)
    page.locator("#scan-form button[type=submit]").tap()


def _expect_answer(page, outcome, code):
    answer = page.locator("#answer")
    expect(answer).to_have_attribute("data-outcome", outcome)
    expect(answer).to_have_attribute("data-code", code)
    expect(answer.locator(".answer__code")).to_contain_text(code)
    expect(page.locator("#code")).to_have_value("")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_refusal_on_the_scan_page_replaces_the_check_in_before_it(browser, door, viewport):
    app, server, ids = door
    context, page = _tablet(browser, server, viewport)
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
    refusals = [("cancelled", "storn1", "STORN1"), ("waiting", "WARTE-1", "WARTE1"),
                ("other_workshop", "ANDER1", "ANDER1"), ("other_stop", "MORGEN", "MORGEN"),
                ("unknown", "ZZZZ99", "ZZZZ99"), ("forged", ids["forged"], "ANDER1")]
    for n, (outcome, typed, code) in enumerate(refusals, start=1):
        _type_code(page, f"valid{n}")
        _expect_answer(page, "valid", f"VALID{n}")
        expect(page.locator("#answer")).to_contain_text(f"Gast {n}")
        _type_code(page, typed)
        _expect_answer(page, outcome, code)
        expect(page.locator("#answer")).not_to_contain_text(f"Gast {n}")
        expect(page.locator("#answer")).not_to_contain_text("Eingecheckt")
    expect(page.locator("#here-count [data-count=checked_in]")).to_have_text(str(len(refusals)))
    # A server error is said in the answer's place, naming the code; nothing swapped in stays from before.
    _type_code(page, "valid7")
    _expect_answer(page, "valid", "VALID7")
    page.route("**/scan", lambda route: route.fulfill(status=500, body="boom", content_type="text/html")
               if route.request.method == "POST" else route.continue_())
    _type_code(page, "HANS22")
    _expect_answer(page, "error", "HANS22")
    expect(page.locator("#answer")).to_contain_text("500")
    page.unroute("**/scan")
    # No network on a tablet not prepared for offline use: it says so, naming the code.
    context.set_offline(True)
    _type_code(page, "ERIKA2")
    _expect_answer(page, "unprepared", "ERIKA2")
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_door_list_walk_in_live_status_and_release_say_every_refusal(browser, door, viewport):
    app, server, ids = door
    context, page = _tablet(browser, server, viewport)
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    line = page.locator("#list .door-answer")
    page.locator("#list .door-row", has_text="Erika Muster").locator("button", has_text="Einchecken").tap()
    expect(line).to_have_attribute("data-outcome", "valid")
    expect(line).to_contain_text("Erika Muster")
    # A walk-in without a name: the refusal replaces the check-in's answer.
    page.locator(".walkin-form button[type=submit]").tap()
    expect(line).to_have_attribute("data-outcome", "invalid")
    expect(line).not_to_contain_text("Erika Muster")
    expect(page.locator("#walkin-name-error")).to_be_visible()
    # Check-in refused by the server with an error page: said above the list, naming the person.
    page.locator("#list .door-row", has_text="Hans Meier").locator("button", has_text="Einchecken").tap()
    expect(line).to_contain_text("Hans Meier")
    page.route("**/act", lambda route: route.fulfill(status=500, body="boom"))
    page.locator("#list .door-row", has_text="Gast 1").locator("button", has_text="Einchecken").tap()
    expect(line).to_have_attribute("data-outcome", "error")
    expect(line).to_contain_text("Gast 1")
    page.unroute("**/act")
    # A walk-in of four with one seat free: 409, swapped in, naming the walk-in.
    page.fill("#walkin-name", "Familie Groß")
    page.select_option("#walkin-size", "4")
    page.locator(".walkin-form button[type=submit]").tap()
    expect(line).to_have_attribute("data-outcome", "full")
    expect(line).to_contain_text("Familie Groß")
    expect(page.locator("#walkin-name")).to_have_value("Familie Groß")

    # Live status: late without minutes, cancel without reason, a server error, no network.
    page.goto(server.url + "/staff/")
    page.locator("#live button[value=here]").tap()
    expect(page.locator("#live button[value=here]")).to_have_attribute("aria-pressed", "true")
    page.locator("#live button[value=late]").tap()
    expect(page.locator("#minutes_late-error")).to_be_visible()
    page.locator("#live button[value=cancelled]").tap()
    expect(page.locator("#reason-error")).to_be_visible()
    expect(page.locator("#minutes_late-error")).to_have_count(0)
    page.route("**/live", lambda route: route.fulfill(status=500, body="boom"))
    page.locator("#live button[value=left]").tap()
    expect(page.locator("#live [data-problem]")).to_contain_text("500")
    page.unroute("**/live")
    context.set_offline(True)
    page.locator("#live button[value=left]").tap()
    expect(page.locator("#live [data-problem]")).not_to_contain_text("500")
    expect(page.locator("#live [data-problem]")).to_have_attribute("data-outcome", "error")
    context.set_offline(False)

    # Release: a server error, then no network, each said in place of the page's answer.
    page.goto(f"{server.url}/staff/workshops/{ids['started']}/release")
    page.route("**/release", lambda route: route.fulfill(status=500, body="boom")
               if route.request.method == "POST" else route.continue_())
    page.locator("#release button[type=submit]").tap()
    expect(page.locator("#release [data-problem]")).to_contain_text("500")
    page.unroute("**/release")
    context.set_offline(True)
    page.locator("#release button[type=submit]").tap()
    expect(page.locator("#release [data-problem]")).not_to_contain_text("500")
    context.set_offline(False)
    page.locator("#release button[type=submit]").tap()
    expect(page.locator("#release .flash--success")).to_be_visible()
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_ticket_held_in_front_of_the_camera_keeps_its_first_answer(_playwright, door, tmp_path, viewport):
    from busapp.core import qr
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.qrtools import rasterise

    app, server, ids = door
    video = tmp_path / "ticket.y4m"
    y4m_video(video, rasterise(str(qr.svg(ids["tokens"]["Aylin Kaya"], "ticket")), scale=8))
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        context = browser.new_context(viewport=VIEWPORTS[viewport], has_touch=True, base_url=server.url,
                                      locale="de-DE")
        context.grant_permissions(["camera"], origin=server.url)
        page = context.new_page()
        sign_in(page, server.url)
        posts = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/scan") else None)
        page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
        _expect_answer(page, "valid", "AYLIN2")
        # The fake camera shows the same ticket all the time: ten seconds later the first answer still stands.
        page.wait_for_timeout(10_000)
        _expect_answer(page, "valid", "AYLIN2")
        assert len(posts) == 1
        assert arrived(app, "AYLIN2") == 2
        context.close()
    finally:
        browser.close()


def test_still_missing_filter_quick_switch_and_printed_list(browser, door):
    app, server, ids = door
    context, page = _tablet(browser, server, "portrait")
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    page.locator("#list .door-row", has_text="Erika Muster").locator("button", has_text="Einchecken").tap()
    expect(page.locator("#list .door-answer")).to_contain_text("Erika Muster")
    # The filter's box is drawn as a box beside its words (not a wide empty field with the words far away), like
    # the sound switch.
    box, words = page.locator("#missing").bounding_box(), page.locator("label[for=missing]").bounding_box()
    assert box["width"] <= 32 and box["height"] <= 32, box
    assert 0 <= words["x"] - (box["x"] + box["width"]) <= 16, (box, words)
    page.locator("label[for=missing]").tap()
    rows = page.locator("#list .door-row")
    expect(rows.filter(has_text="Erika Muster")).to_have_count(0)
    expect(rows.filter(has_text="Warte Person")).to_have_count(0)
    expect(rows.filter(has_text="Storniert Person")).to_have_count(0)
    expect(rows.filter(has_text="Hans Meier")).to_have_count(1)
    # Checking someone in keeps the filter: they leave the list of those still missing.
    rows.filter(has_text="Hans Meier").locator("button", has_text="Einchecken").tap()
    expect(page.locator("#list .door-answer")).to_contain_text("Hans Meier")
    expect(rows.filter(has_text="Hans Meier")).to_have_count(0)
    expect(rows.filter(has_text="Gast 1")).to_have_count(1)
    # On paper: names, codes and parties; no buttons, no forms.
    page.emulate_media(media="print")
    expect(page.locator(".walkin-form")).to_be_hidden()
    expect(page.locator(".door-row__actions").first).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    expect(rows.filter(has_text="Gast 1")).to_contain_text("VALID1")
    page.emulate_media(media="screen")
    # One tap to another of today's workshops, on the same kind of page; tomorrow's is not offered.
    switch = page.locator("nav.switch")
    expect(switch.locator("a[aria-current=page]")).to_contain_text("Smartphone-Grundlagen")
    expect(switch).not_to_contain_text("E-Mail")
    switch.locator("a", has_text="Sicher online").tap()
    expect(page.locator("h1")).to_have_text("Sicher online")
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
    page.locator("nav.switch a", has_text="Tablet-Sprechstunde").tap()
    page.wait_for_url(f"{server.url}/staff/workshops/{ids['started']}/scan")
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_answer_band_and_camera_are_in_the_first_screen(_playwright, door, tmp_path, viewport):
    from busapp.core import qr
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.qrtools import rasterise

    app, server, ids = door
    video = tmp_path / "ticket.y4m"
    y4m_video(video, rasterise(str(qr.svg(ids["tokens"]["Hans Meier"], "ticket")), scale=8))
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    size = VIEWPORTS[viewport]

    def in_view(locator):
        box = locator.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (viewport, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (viewport, box)

    try:
        context = browser.new_context(viewport=size, has_touch=True, base_url=server.url, locale="de-DE")
        context.grant_permissions(["camera"], origin=server.url)
        page = context.new_page()
        sign_in(page, server.url)
        page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
        _expect_answer(page, "valid", "HANS22")  # read by the camera
        page.screenshot(path=str(tmp_path / f"scan-{viewport}-camera.png"))
        in_view(page.locator("#answer"))
        in_view(page.locator("#scan-video"))
        in_view(page.locator("#here-count"))
        _type_code(page, "STORN1")  # typed
        _expect_answer(page, "cancelled", "STORN1")
        page.screenshot(path=str(tmp_path / f"scan-{viewport}-typed.png"))
        in_view(page.locator("#answer"))
        in_view(page.locator("#scan-video"))
        in_view(page.locator("#code"))
        context.close()
    finally:
        browser.close()


# Records what the page asks of the vibration motor and the speaker.
SIGNALS = """
window.__vibrations = [];
window.__tones = [];
Object.defineProperty(navigator, 'vibrate', {value: (p) => { window.__vibrations.push(JSON.stringify(p)); return true; }});
const create = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const osc = create.call(this);
  const start = osc.start.bind(osc);
  osc.start = (when) => { window.__tones.push(osc.type); return start(when); };
  return osc;
};
"""


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_success_and_refusal_sound_and_feel_different_and_sound_can_be_switched_off(browser, door, viewport):
    app, server, ids = door
    context, page = _tablet(browser, server, viewport)
    context.add_init_script(SIGNALS)
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}/scan")
    _type_code(page, "VALID1")
    _expect_answer(page, "valid", "VALID1")
    _type_code(page, "STORN1")
    _expect_answer(page, "cancelled", "STORN1")
    assert page.evaluate("window.__vibrations") == ["60", "[200,100,200]"]
    assert page.evaluate("window.__tones") == ["sine", "sine", "square"]
    # Sound off (kept on this tablet): the vibration stays, the speaker is quiet, on this page and the next.
    page.locator("label[for=sound]").tap()
    expect(page.locator("#sound")).not_to_be_checked()
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    expect(page.locator("#sound")).not_to_be_checked()
    page.locator("#list .door-row", has_text="Gast 2").locator("button", has_text="Einchecken").tap()
    expect(page.locator("#list .door-answer")).to_have_attribute("data-outcome", "valid")
    expect(page.locator("#list .door-answer")).to_have_attribute("data-outcome", "valid")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__vibrations") == ["60"]
    assert page.evaluate("window.__tones") == []
    context.close()


def test_an_offline_check_in_signed_during_the_sign_in_is_taken_after_the_sign_in_is_gone(browser, door):
    import sqlalchemy as sa

    from busapp.models import CheckIn, User

    app, server, ids = door
    context, page = offline_check_in_waiting(browser, server.url, ids["workshop"])
    item = page.evaluate("JSON.parse(localStorage.getItem('busapp.staff.queue'))[0]")
    assert item["sig"] and item["key"].startswith(str(query(app, lambda: db.session.scalar(
        sa.select(User.id).where(User.email == "staff@example.org")))) + ".")
    # The sign-in is gone (expired, or the cookie lost); the tablet's credential sends the signed check-in.
    context.clear_cookies()
    context.set_offline(False)
    page.evaluate("window.BusCheckin.sync(false)")
    expect(page.locator("[data-sync-queue]")).to_have_text("")
    assert arrived(app, "HANS22") == 1
    staff_id = query(app, lambda: db.session.scalar(sa.select(User.id).where(User.email == "staff@example.org")))
    assert query(app, lambda: db.session.scalar(sa.select(CheckIn.user_id))) == staff_id
    context.close()


def test_an_undo_online_then_no_network_lets_the_party_be_checked_in_again(browser, door):

    app, server, ids = door
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    wait_prepared(page)
    wait_pages_kept(page)  # the first preparation is over
    erika = page.locator("#list .door-row", has_text="Erika Muster")
    erika.locator("button", has_text="Einchecken").click()
    expect(page.locator("#list .door-answer")).to_have_attribute("data-outcome", "valid")
    # The tablet's copy of the day is fetched anew (as it is 20 s after an online action): Erika is in it as here.
    page.evaluate("window.BusCheckin.prepare()")
    for _ in range(100):
        if page.evaluate("JSON.parse(localStorage.getItem('busapp.staff.day')).bookings.some(b => b.arrived > 0)"):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the day's data was not fetched anew")
    erika.locator("button", has_text="Rückgängig").click()
    expect(erika.locator("button", has_text="Einchecken")).to_be_visible()
    # Right after the undo the network goes: checking her in again is a check-in, not "already checked in".
    context.set_offline(True)
    erika.locator("button", has_text="Einchecken").click()
    expect(page.locator("#list .door-answer")).to_have_attribute("data-outcome", "valid")
    expect(page.locator("[data-sync-queue]")).to_contain_text("1")
    context.close()


def test_names_are_found_as_people_type_them_online_and_offline(browser, door):

    app, server, ids = door

    def add():
        workshop = db.session.get(Workshop, ids["workshop"])
        db.session.add_all([_booking(workshop, "YILMAZ", "Hüseyin Yılmaz"), _booking(workshop, "MULLER", "Grete Müller")])
        workshop.capacity, workshop.seats_taken = workshop.capacity + 2, workshop.seats_taken + 2
        db.session.commit()

    query(app, add)
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(f"{server.url}/staff/workshops/{ids['workshop']}")
    wait_prepared(page)
    rows = page.locator("#list .door-row:visible")
    page.fill("#q", "yilmaz")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Hüseyin Yılmaz")
    page.fill("#q", "")  # the whole list again, then without network the tablet searches it itself
    expect(rows.filter(has_text="Erika Muster")).to_have_count(1)
    context.set_offline(True)
    page.fill("#q", "mueller")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Grete Müller")
    page.fill("#q", "huseyin")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Hüseyin Yılmaz")
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_first_screen_of_the_day_shows_the_workshops_and_the_first_step(browser, door, viewport, tmp_path):
    app, server, ids = door
    context, page = _tablet(browser, server, viewport)
    size = VIEWPORTS[viewport]
    page.goto(server.url + "/staff/")
    card = page.locator(f"#workshop-{ids['workshop']}")
    expect(page.locator("#first-step")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"today-{viewport}.png"))
    for locator in (page.locator("#first-step a"), card.locator("a", has_text="Check-in-Liste"),
                    card.locator("a", has_text="Tickets scannen")):
        box = locator.bounding_box()
        assert box and box["y"] + box["height"] <= size["height"], (viewport, box)
    # What cannot work on a tablet not set up says why instead of doing nothing.
    prepare = page.locator("[data-sync-prepare]")
    expect(prepare).to_be_disabled()
    expect(prepare).to_have_attribute("aria-describedby", "sync-day-line")
    expect(page.locator("#sync-day-line")).not_to_be_empty()
    context.close()


def test_sign_out_online_with_unsent_actions_asks_and_keeps_them(browser, door):

    app, server, ids = door
    context, page = offline_check_in_waiting(browser, server.url, ids["workshop"])
    # Back online, but the server refuses every sync for now.
    page.route("**/staff/sync", lambda route: route.fulfill(status=503, body="{}", content_type="application/json"))
    context.set_offline(False)
    page.click("nav form button[type=submit]")
    dialog = page.locator("#unsent-dialog")
    expect(dialog).to_contain_text("1")
    dialog.locator("button", has_text="Jetzt senden").click()  # still refused: the dialog stays
    expect(dialog).to_be_visible()
    dialog.locator("button", has_text="abmelden").click()
    page.wait_for_url(server.url + "/signout")
    assert page.evaluate("JSON.parse(localStorage.getItem('busapp.staff.queue')).length") == 1
    assert arrived(app, "HANS22") == 0
    context.close()
