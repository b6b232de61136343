"""A coordinator at 1280 x 800 acts on many stops at once and on series: publishes a week's drafts with one button,
cancels several stops with one reason after the dry run, and changes a series "this and all following"."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.booking import service as booking_service
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, District, OutgoingMail, Place, Stop, StopStatus, Workshop
from busapp.planning import service
from tests.e2e.helpers import query, sign_in_as_coordinator
from tests.e2e.test_planning import free_saturday

pytestmark = pytest.mark.browser
BERLIN = ZoneInfo("Europe/Berlin")


def at(day, hh: int) -> datetime:
    return datetime.combine(day, time(hh), tzinfo=BERLIN)


def plan(live_app, day, hours, status=StopStatus.DRAFT, workshop: bool = True) -> list[int]:
    """Stops at one place in Moisling on `day`, one per (start, end) hour pair; returns their ids."""
    def make():
        district = db.session.scalar(sa.select(District).where(District.name == "Moisling"))
        place = Place(district=district, name=f"Testort {uuid.uuid4().hex[:6]}", address="Brink 1")
        ids = []
        for start, end in hours:
            stop = Stop(district=district, place=place, starts_at=at(day, start), ends_at=at(day, end), status=status)
            if workshop:
                stop.workshops.append(Workshop(title="Videoanrufe", topic="smartphone_basics",
                                               starts_at=at(day, start), capacity=6,
                                               status=service.WorkshopStatus.PUBLISHED
                                               if status == StopStatus.PUBLISHED else service.WorkshopStatus.DRAFT))
            db.session.add(stop)
            db.session.flush()
            ids.append(stop.id)
        db.session.commit()
        return ids

    return query(live_app, make)


def states(live_app, ids) -> list[str]:
    return query(live_app, lambda: [db.session.get(Stop, i).status.value for i in ids])


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def test_a_weeks_drafts_are_published_with_one_button(office, live_app, tmp_path):
    page = office
    day = free_saturday(live_app)
    ids = plan(live_app, day, [(10, 12), (13, 15)])
    monday = day - timedelta(days=day.weekday())
    drafts_in_week = query(live_app, lambda: db.session.scalar(sa.select(sa.func.count(Stop.id)).where(
        Stop.status == StopStatus.DRAFT, Stop.starts_at >= at(monday, 0),
        Stop.starts_at < at(monday + timedelta(days=7), 0))))
    sign_in_as_coordinator(page)
    page.goto(f"/admin?week={monday.isoformat()}")
    button = page.get_by_role("button", name=f"Die {drafts_in_week} Entwürfe dieser Woche veröffentlichen")
    box = button.bounding_box()
    assert box and box["y"] + box["height"] <= 800, box  # in the first screen of the office
    page.screenshot(path=str(tmp_path / "week-drafts.png"))
    click_and_wait(page, button)
    assert f"{drafts_in_week} Halte sind veröffentlicht." in page.inner_text(".flashes")
    assert states(live_app, ids) == ["published", "published"]
    assert page.get_by_role("button", name="Entwürfe dieser Woche veröffentlichen").count() == 0


def test_several_stops_are_cancelled_with_one_reason_after_the_dry_run(office, live_app, tmp_path):
    page = office
    day = free_saturday(live_app)
    ids = plan(live_app, day, [(9, 11), (12, 14), (15, 17)], status=StopStatus.PUBLISHED)
    first_workshop = query(live_app, lambda: db.session.get(Stop, ids[0]).workshops[0].id)

    def book():
        with live_app.test_request_context():
            booking_service.create(first_workshop, party_size=2, name="Emine", contact="emine@example.org",
                                   needs_note=None, idempotency_key=uuid.uuid4().hex, locale="de")
            booking_service.create(first_workshop, party_size=1, name="Hans", contact="0451 123456",
                                   needs_note=None, idempotency_key=uuid.uuid4().hex, locale="de")
    query(live_app, book)

    sign_in_as_coordinator(page)
    page.goto(f"/admin?week={(day - timedelta(days=day.weekday())).isoformat()}")
    click_and_wait(page, page.get_by_role("link", name="Mehrere Halte auf einmal"))
    page.select_option("#status", "published")
    page.fill("#first", day.isoformat())
    page.fill("#last", day.isoformat())
    click_and_wait(page, page.get_by_role("button", name="Halte zeigen"))
    assert "3 Halte gefunden." in page.inner_text("#found")
    page.screenshot(path=str(tmp_path / "bulk-list.png"), full_page=True)

    # Without a reason: the answer stands beside the field, the ticks stay.
    page.locator("summary", has_text="mit einem Grund absagen").click()
    page.locator(f"input[name=stop][value='{ids[2]}']").uncheck()
    click_and_wait(page, page.get_by_role("button", name="Zeigen, wen es betrifft"))
    assert "Bitte geben Sie einen Grund an" in page.inner_text("#field-reason")
    assert not page.locator(f"input[name=stop][value='{ids[2]}']").is_checked()
    assert page.locator(f"input[name=stop][value='{ids[0]}']").is_checked()
    page.screenshot(path=str(tmp_path / "bulk-no-reason.png"))

    page.fill("#reason", "Der Bus ist in der Werkstatt.")
    click_and_wait(page, page.get_by_role("button", name="Zeigen, wen es betrifft"))
    assert "2 Halte absagen?" in page.inner_text("h1")
    dry_run = page.inner_text(".dry-run")
    assert "2 Anmeldungen" in dry_run and "1 bekommt eine E-Mail." in dry_run and "Anrufliste" in dry_run
    confirm = page.get_by_role("button", name="2 Halte absagen und den Angemeldeten Bescheid geben")
    box = confirm.bounding_box()
    assert box and box["y"] + box["height"] <= 800, box
    page.screenshot(path=str(tmp_path / "bulk-dry-run.png"), full_page=True)
    assert states(live_app, ids) == ["published"] * 3  # the dry run cancels nothing

    click_and_wait(page, confirm)
    assert "2 Halte sind abgesagt. 1 Anmeldung bekommt eine E-Mail." in page.inner_text(".flashes")
    assert states(live_app, ids) == ["cancelled", "cancelled", "published"]
    assert query(live_app, lambda: {b.status for b in db.session.scalars(
        sa.select(Booking).where(Booking.workshop_id == first_workshop))}) == {BookingStatus.CANCELLED}
    assert query(live_app, lambda: db.session.scalar(sa.select(sa.func.count(OutgoingMail.id)).where(
        OutgoingMail.kind == "stop-cancelled"))) == 1
    page.screenshot(path=str(tmp_path / "bulk-done.png"))


def test_a_series_is_changed_this_and_all_following(office, live_app, tmp_path):
    page = office
    day = free_saturday(live_app)  # itself and two weeks later are free; the series is fortnightly
    [first] = plan(live_app, day, [(10, 13)], status=StopStatus.PUBLISHED)

    def repeat():
        copies = service.create_series(first, [day + timedelta(weeks=2 * i) for i in (1, 2, 3)], None,
                                       rule="biweekly")
        return [first] + [c.id for c in copies]
    ids = query(live_app, repeat)
    third_workshop = query(live_app, lambda: db.session.get(Stop, ids[2]).workshops[0].id)

    def book():
        with live_app.test_request_context():
            return booking_service.create(third_workshop, party_size=1, name="Ada", contact="ada@example.org",
                                          needs_note=None, idempotency_key=uuid.uuid4().hex, locale="de").booking.id
    ada = query(live_app, book)

    sign_in_as_coordinator(page)
    page.goto(f"/admin/stops/{ids[1]}")
    assert "4 Halte ab heute" in page.inner_text("#series-title + p")
    click_and_wait(page, page.get_by_role("link", name="Diesen und alle folgenden ändern"))
    assert page.locator("input[type=radio][name=scope][value=following]").is_checked()
    page.fill("#start", "11:00")
    page.fill("#end", "14:00")
    click_and_wait(page, page.locator("main form.plan-form [type=submit]"))
    run = page.inner_text("#series-run")
    assert "3 Halte der Serie ändern sich" in run and run.count("11:00–14:00") == 3
    assert "1 bekommt eine E-Mail." in page.inner_text(".dry-run")
    page.screenshot(path=str(tmp_path / "series-dry-run.png"), full_page=True)
    assert query(live_app, lambda: {db.session.get(Stop, i).starts_at.astimezone(BERLIN).hour for i in ids}) == {10}

    # Confirmed without the note the people booked will read: the answer beside the field, nothing saved.
    click_and_wait(page, page.get_by_role("button", name="Alle speichern und Bescheid geben"))
    assert "bitte schreiben Sie, was sich ändert" in page.inner_text("#field-note")
    page.screenshot(path=str(tmp_path / "series-no-note.png"))
    page.fill("#note", "Wir kommen eine Stunde später.")
    click_and_wait(page, page.get_by_role("button", name="Alle speichern und Bescheid geben"))
    assert "3 Halte sind gespeichert." in page.inner_text(".flashes")
    hours = query(live_app, lambda: [db.session.get(Stop, i).starts_at.astimezone(BERLIN).hour for i in ids])
    assert hours == [10, 11, 11, 11]
    assert query(live_app, lambda: db.session.get(Booking, ada).status) == BookingStatus.CONFIRMED
    assert query(live_app, lambda: db.session.scalar(sa.select(sa.func.count(OutgoingMail.id)).where(
        OutgoingMail.kind == "stop-moved"))) == 1
