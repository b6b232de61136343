"""Planning in a real browser on an office screen (1280 × 800): a coordinator plans a place, a stop and two courses,
repeats it, publishes, sees it on the public district page, then cancels one stop and sees the ticket change.
Also: the coordinators' pages fit a 1024 px screen."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from busapp.planning import service
from tests.e2e.helpers import sign_in_as_coordinator

pytestmark = pytest.mark.browser
BERLIN = ZoneInfo("Europe/Berlin")


def free_saturday(live_app) -> date:
    """A Saturday some weeks ahead, no public holiday, with no stop on it or on the three after it, two weeks apart."""
    day = date.today() + timedelta(weeks=3)
    day += timedelta(days=(5 - day.weekday()) % 7)
    with live_app.test_request_context():
        while any(service.holiday(day + timedelta(weeks=2 * i)) or service.stops_between(
                day + timedelta(weeks=2 * i), day + timedelta(weeks=2 * i)) for i in range(4)):
            day += timedelta(weeks=1)
    return day


def book_by_phone(phone, workshop_id: int, name: str, phone_number: str) -> str:
    """A resident books one seat with a name and a phone number; returns the ticket's address."""
    phone.goto(f"/workshops/{workshop_id}/book")
    phone.fill("input[name=name]", name)
    phone.fill("input[name=contact]", phone_number)
    phone.check("input[name=consent]")
    phone.locator("form.booking-form [type=submit]").click()
    phone.wait_for_selector(".ticket")
    return phone.url


def click_and_wait(page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()


def test_a_coordinator_plans_repeats_publishes_and_cancels(office, live_app, browser, live_server):
    page = office
    sign_in_as_coordinator(page)
    assert page.url.endswith("/admin")  # the coordinator lands on planning

    # A new place.
    page.goto("/admin/places/new")
    page.select_option("#district_id", label="Moisling")
    page.fill("#name", "Gemeindehaus am Brink")
    page.fill("#address", "Brink 1")
    page.fill("#postcode", "23560")
    page.fill("#transit_stop", "Moislinger Mitte")
    page.fill("#transit_lines", "6, 16")
    page.select_option("#step_free", "yes")
    page.fill("#finding_note", "Der Bus steht auf dem Parkplatz hinter dem Haus.")
    click_and_wait(page, "main form.plan-form [type=submit]")
    assert "/admin/stops/new" in page.url  # on to planning a stop there, the place chosen

    # A stop on a free Saturday.
    day = free_saturday(live_app)
    page.fill("#day", day.isoformat())
    page.fill("#start", "10:00")
    page.fill("#end", "13:00")
    click_and_wait(page, "main form.plan-form [type=submit]")
    assert "/admin/stops/" in page.url and "Gemeindehaus am Brink" in page.inner_text("h1")
    stop_url = page.url

    # Two courses from the catalogue.
    for course, start in (("Das Smartphone kennenlernen", "10:00"), ("Videoanrufe mit der Familie", "11:45")):
        page.goto(stop_url)
        click_and_wait(page, "text=Kurs hinzufügen")
        page.select_option("#course", label=course)
        click_and_wait(page, "form.course-pick [type=submit]")
        assert page.input_value("#title") == course
        page.fill("#start", start)
        click_and_wait(page, "main form.plan-form [type=submit]")
        assert page.url == stop_url, page.inner_text("main")
    assert page.locator("tbody tr").count() == 2

    # Repeat every second week, four times: the dates first, then all of them.
    click_and_wait(page, "text=Halt wiederholen")
    page.check("input[name=rule][value=biweekly]")
    page.fill("#count", "4")
    click_and_wait(page, "button[name=confirm][value='']")
    assert page.locator(".preview-list li").count() == 4
    assert page.locator(".preview--bad").count() == 0
    click_and_wait(page, "button[name=confirm][value=yes]")

    # Publish the stop and its repeats.
    with live_app.app_context():
        ids = list(db.session.scalars(sa.select(Stop.id).join(Stop.place).where(
            Stop.place.has(name="Gemeindehaus am Brink")).order_by(Stop.starts_at)))
    assert len(ids) == 5
    for stop_id in ids:
        page.goto(f"/admin/stops/{stop_id}")
        click_and_wait(page, "button:has-text('Veröffentlichen')")
        assert "veröffentlicht" in page.inner_text(".flashes")

    # Residents see them on the district page.
    resident = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url, locale="de-DE")
    phone = resident.new_page()
    phone.goto("/d/moisling")
    # The district page shows a few weeks at a time: a resident pages on with "later stops" until the new place shows.
    for _page in range(6):
        if phone.locator("text=Gemeindehaus am Brink").count() or not phone.locator("a[rel=next]").count():
            break
        stops = phone.locator("#stops").element_handle()
        phone.locator("a[rel=next]").first.click()
        stops.wait_for_element_state("hidden")  # htmx swapped the next weeks in its place
    assert phone.locator("text=Gemeindehaus am Brink").count() >= 1
    # A resident books a seat at the first one.
    with live_app.app_context():
        workshop_id = db.session.scalar(sa.select(Stop).where(Stop.id == ids[0])).workshops[0].id
    ticket_url = book_by_phone(phone, workshop_id, "Emine", "0451 123456")

    # The coordinator cancels that stop: the dry run, then the cancellation.
    page.goto(f"/admin/stops/{ids[0]}")
    click_and_wait(page, "text=Diesen Halt absagen")
    dry_run = page.inner_text(".dry-run")
    assert "1 Anmeldung" in dry_run and "Anrufliste" in dry_run
    page.fill("#reason", "Der Bus ist in der Werkstatt.")
    click_and_wait(page, "main form.plan-form [type=submit]")
    assert "Abgesagt" in page.inner_text(".flashes")
    page.goto(f"/admin/stops/{ids[0]}/calls")
    assert "Emine" in page.inner_text("main") and "0451 123456" in page.inner_text("main")

    # The resident's ticket shows the change and the reason.
    phone.goto(ticket_url)
    assert "Der Bus ist in der Werkstatt." in phone.inner_text("main")
    with live_app.app_context():
        assert db.session.scalar(sa.select(Booking.status).where(Booking.name == "Emine")).value == "cancelled"
        assert {w.status for w in db.session.get(Stop, ids[1]).workshops} == {WorkshopStatus.PUBLISHED}
        assert db.session.get(Stop, ids[0]).status == StopStatus.CANCELLED
    resident.close()


@pytest.mark.parametrize("path", ["/admin", "/admin/month", "/admin/feedback", "/admin/reports", "/admin/audit",
                                  "/admin/places", "/admin/people"])
def test_coordinator_pages_fit_a_1024_px_screen(browser, live_server, path):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768}, base_url=live_server.url, locale="de-DE")
    page = ctx.new_page()
    try:
        sign_in_as_coordinator(page)
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} runs {overflow}px off a 1024 px screen"
        # No table needs sideways scrolling either (the folded tables opened too).
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        scrolling = page.evaluate("[...document.querySelectorAll('.table-wrap')]"
                                  ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.getAttribute('aria-label')"
                                  " || w.getAttribute('aria-labelledby'))")
        assert not scrolling, f"{path}: these tables run off the screen: {scrolling}"
        # One menu: each coordinator entry appears once in the page's navigation.
        links = page.eval_on_selector_all("nav.site-nav a", "els => els.map(e => e.getAttribute('href'))")
        assert len(links) == len(set(links)), links
    finally:
        ctx.close()


def test_moving_a_booked_workshop_shows_who_is_told_before_saving(office, live_app, browser, live_server):
    """The workshop form's dry run: a new time for a booked workshop first says whom it reaches (checked with axe),
    then saves and tells them; the resident's ticket shows the new time and the coordinator's note."""
    from tests.e2e.helpers import axe_violations, describe

    now = utcnow()
    with live_app.app_context():
        # The last workshop of a coming stop that leaves room after it: moving it 15 minutes later breaks no rule.
        candidates = db.session.scalars(sa.select(Workshop).join(Workshop.stop).where(
            Stop.status == StopStatus.PUBLISHED, Stop.starts_at > now + timedelta(days=2),
            Workshop.status == WorkshopStatus.PUBLISHED).order_by(Stop.starts_at)).all()
        workshop = next(w for w in candidates
                        if w.ends_at + timedelta(minutes=15) <= w.stop.ends_at and w.seats_free >= 2
                        and all(o.ends_at <= w.starts_at or o.id == w.id or o.status != WorkshopStatus.PUBLISHED
                                for o in w.stop.workshops))
        workshop_id, new_start = workshop.id, (workshop.starts_at + timedelta(minutes=15)).astimezone(BERLIN)

    resident = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url, locale="de-DE")
    phone = resident.new_page()
    ticket_url = book_by_phone(phone, workshop_id, "Jürgen", "0451 998877")

    page = office
    sign_in_as_coordinator(page)
    page.goto(f"/admin/workshops/{workshop_id}/edit")
    page.fill("#start", new_start.strftime("%H:%M"))
    page.fill("#note", "Wir fangen eine Viertelstunde später an.")
    click_and_wait(page, "main form.plan-form [type=submit]")
    dry_run = page.inner_text(".dry-run")
    assert "Wen das betrifft" in dry_run and "Anrufliste" in dry_run, dry_run
    version, violations = axe_violations(page)
    assert not violations, describe(f"workshop dry run (axe {version})", page.url, violations)
    with live_app.app_context():
        assert db.session.get(Workshop, workshop_id).starts_at < new_start  # nothing saved by the dry run
    click_and_wait(page, "button:has-text('Speichern und Bescheid geben')")
    assert "Der Kurs ist gespeichert." in page.inner_text(".flashes")

    phone.goto(ticket_url)
    ticket = phone.inner_text("main")
    assert new_start.strftime("%H:%M").lstrip("0") in ticket or new_start.strftime("%H:%M") in ticket, ticket
    assert "Wir fangen eine Viertelstunde später an." in ticket
    resident.close()
