"""Rules several features share, defined once in busapp/domain/ (party size, live status, where the bus is now,
what is public, absolute links, the town's time zone): every feature, page and script gives the same answer."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from busapp import create_app
from busapp.checkin import service as checkin_service
from busapp.checkin import views as checkin_views
from busapp.domain import links, live, party, town, tour
from busapp.core.extensions import db
from busapp.feedback import rules as feedback_rules
from busapp.models import LiveStatus, StopStatus, WorkshopStatus
from busapp.planning import views as planning_views
from busapp.planning.forms import LiveForm
from busapp.schedule import queries
from tests.conftest import _driver

ROOT = Path(__file__).resolve().parents[2]


def test_the_time_zone_setting_reaches_babel_the_feedback_day_and_the_scripts(monkeypatch, database_url):
    monkeypatch.setenv("TIMEZONE", "America/New_York")
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    assert app.config["TIMEZONE"] == app.config["BABEL_DEFAULT_TIMEZONE"] == "America/New_York"
    with app.test_request_context("/"):
        at = datetime(2026, 3, 3, 3, 0, tzinfo=timezone.utc)  # still March 2nd in New York
        assert feedback_rules.day_start(at) == datetime(2026, 3, 2, tzinfo=ZoneInfo("America/New_York"))
        assert town.day_of(at).day == 2
    page = app.test_client().get("/").get_data(as_text=True)
    assert 'data-timezone="America/New_York"' in page


def test_a_time_zone_that_does_not_exist_stops_the_start(monkeypatch, database_url):
    monkeypatch.setenv("TIMEZONE", "Europe/Luebeck")
    with pytest.raises(Exception, match="TIMEZONE"):
        create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})


@pytest.mark.parametrize("path", ["static/js/checkin.js", "static/js/offline.js"])
def test_scripts_take_the_time_zone_from_the_page(path):
    script = (ROOT / path).read_text()
    assert "Europe/Berlin" not in script
    assert "document.body.dataset.timezone" in script


def test_templates_do_not_retype_the_shared_limits():
    for page in (ROOT / "templates").rglob("*.html"):
        text = page.read_text()
        assert "range(1, 5)" not in text, page
        assert 'max="600"' not in text, page


def test_walk_in_form_offers_the_party_sizes_residents_can_book(client, login, make_workshop):
    workshop = make_workshop()
    login("staff")
    page = client.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    select = re.search(r'<select id="walkin-size"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert tuple(int(v) for v in re.findall(r'value="(\d+)"', select)) == party.PARTY_SIZES


def test_tablet_and_office_use_the_same_live_status_words(app):
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        office = {c.data: str(c.label.text) for c in LiveForm().status}
        tablet = {k: str(v) for k, v in checkin_views.LIVE_LABELS.items() if k != "cancelled"}
        assert office == tablet == {k: str(v) for k, v in live.LABELS.items()}
        assert str(checkin_views.LIVE_ERRORS["minutes"]) == str(planning_views.LIVE_REFUSALS["minutes"])
        assert "600" in str(live.MINUTES_MESSAGE)


@pytest.mark.parametrize("minutes, ok", [(None, False), (0, False), (1, True), (600, True), (601, False),
                                         ("12", True), ("x", False)])
def test_minutes_late_rule(minutes, ok):
    assert live.minutes_ok(minutes) is ok


def test_the_tablet_and_the_home_page_agree_where_the_bus_is(app, make_stop, now):
    # A stop running now that staff marked as left, and the next stop later: the bus is on its way there.
    left = make_stop(starts_at=now - timedelta(hours=1), hours=3)
    left.live_status = LiveStatus.LEFT
    upcoming = make_stop(starts_at=now + timedelta(hours=3), hours=2)
    cancelled = make_stop(starts_at=now + timedelta(hours=2, minutes=30), hours=0.25)
    cancelled.status = StopStatus.CANCELLED
    db.session.commit()
    assert queries.current_or_next_stop(now).id == upcoming.id
    assert checkin_service.current_stop(now).id == upcoming.id
    assert tour.where_now(now) is None
    # The bus's feedback code still points to the stop it left today.
    assert feedback_rules.bus_stop(now).id == left.id


def test_absolute_links_are_on_the_public_address_also_outside_a_request(app):
    app.config["PUBLIC_BASE_URL"] = "https://digitalbus.luebeck.example"
    assert links.absolute_url("schedule.stop", stop_id=7) == "https://digitalbus.luebeck.example/s/7"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert links.absolute_url("schedule.stop", stop_id=7) == "https://digitalbus.luebeck.example/s/7"


def test_what_is_public(make_stop, make_workshop):
    stop = make_stop()
    draft = make_workshop(stop=stop, status=WorkshopStatus.DRAFT)
    shown = make_workshop(stop=stop)
    assert tour.is_public(stop) and tour.is_public(shown) and not tour.is_public(draft)
    assert [w.id for w in tour.public_workshops(stop)] == [shown.id]
    stop.status = StopStatus.DRAFT
    assert not tour.is_public(shown)
