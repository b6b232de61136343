"""Several buses: each stop belongs to a bus, each bus is at one stop at a time, and each has its own feedback code,
staff page and line on the home page; a town with one bus sees no difference."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Bus, Stop
from busapp.planning import service
from tests.conftest import csrf_token


@pytest.fixture
def two_buses(app):
    first = Bus(name="Digitalwerkstatt-Bus")
    second = Bus(name="Kleiner Bus")
    db.session.add_all([first, second])
    db.session.commit()
    return first, second


def test_two_buses_may_be_out_at_once_but_each_at_one_stop(app, two_buses, make_stop, make_place, make_district,
                                                          now):
    first, second = two_buses
    start = now + timedelta(days=2)
    make_stop(starts_at=start, bus_id=first.id)
    district = make_district()
    place = make_place(district, "Schule")
    other_bus = service.StopDraft(place.id, start, start + timedelta(hours=2), bus_id=second.id)
    assert service.check_stop(other_bus) == {}
    same_bus = service.StopDraft(place.id, start, start + timedelta(hours=2), bus_id=first.id)
    assert "start" in service.check_stop(same_bus)
    saved = service.save_stop(None, other_bus, None)
    assert saved.bus_id == second.id
    # A stop given no bus is the first bus's: it clashes with the first bus only.
    assert "start" in service.check_stop(service.StopDraft(place.id, start, start + timedelta(hours=1)))
    # A series keeps its bus.
    copies = service.create_series(saved.id, [(start + timedelta(weeks=1)).date()], None)
    assert [c.bus_id for c in copies] == [second.id]


def test_a_stop_without_a_bus_gets_the_first_one_made_if_needed(app, make_stop):
    assert db.session.scalar(sa.select(sa.func.count(Bus.id))) == 0
    stop = make_stop()
    assert stop.bus.name == "Digitalwerkstatt-Bus"
    assert make_stop(starts_at=stop.ends_at + timedelta(hours=1)).bus_id == stop.bus_id
    assert db.session.scalar(sa.select(sa.func.count(Bus.id))) == 1


def test_each_bus_has_its_own_feedback_code(app, client, two_buses, make_stop, now):
    first, second = two_buses
    make_stop(starts_at=now - timedelta(hours=1), place="Marktplatz", bus_id=first.id)
    make_stop(starts_at=now - timedelta(hours=1), place="Schulhof", bus_id=second.id)
    assert "Marktplatz" in client.get("/f").get_data(as_text=True)
    second_code = client.get(f"/f/b/{second.id}").get_data(as_text=True)
    assert "Schulhof" in second_code and "Marktplatz" not in second_code
    assert f'action="/f/b/{second.id}' in second_code  # the answer goes back to the same bus's code
    assert client.get("/f/b/999").status_code == 404


def test_one_bus_sees_no_difference_and_several_are_named(app, client, make_stop, now):
    stop = make_stop(starts_at=now + timedelta(hours=1), place="Marktplatz")
    page = client.get("/").get_data(as_text=True)
    assert "Marktplatz" in page and "stop-card__bus" not in page
    assert "Bus: " not in client.get(f"/s/{stop.id}?lang=en").get_data(as_text=True)
    other = Bus(name="Kleiner Bus")
    db.session.add(other)
    db.session.commit()
    make_stop(starts_at=now + timedelta(hours=2), place="Schulhof", bus_id=other.id)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/?lang=en").get_data(as_text=True)
    # Where each bus goes next, each named.
    assert "Digitalwerkstatt-Bus: next stop" in page and "Kleiner Bus: next stop" in page
    assert "stop-card__bus" in page and "Bus: Kleiner Bus" in page and "Bus: Kleiner Bus" in client.get(f"/s/{stop.id + 1}?lang=en").get_data(
        as_text=True)


def test_staff_landing_shows_the_chosen_bus(app, client, login, two_buses, make_stop, now):
    first, second = two_buses
    make_stop(starts_at=now + timedelta(hours=1), place="Marktplatz", bus_id=first.id)
    make_stop(starts_at=now + timedelta(hours=1), place="Schulhof", bus_id=second.id)
    login("staff")
    page = client.get("/staff/").get_data(as_text=True)
    assert "Marktplatz" in page and "Schulhof" not in page.split("<main")[1].split("Kleiner Bus")[0]
    page = client.get(f"/staff/?bus={second.id}").get_data(as_text=True)
    assert "Schulhof" in page and "Kleiner Bus" in page


def test_coordinators_add_and_rename_buses(app, client, login):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    answer = client.post("/admin/buses", data={"csrf_token": csrf_token(client, "/admin/buses"), "name": "  Nord  ",
                                               "capacity_notes": "8 Plätze, Rampe"})
    assert answer.status_code == 303
    bus = db.session.scalar(sa.select(Bus).where(Bus.name == "Nord"))
    assert bus is not None and bus.capacity_notes == "8 Plätze, Rampe"
    twice = client.post("/admin/buses", data={"csrf_token": csrf_token(client, "/admin/buses"), "name": "nord"})
    assert twice.status_code == 422 and "already" in twice.get_data(as_text=True)
    assert 'value="nord"' in twice.get_data(as_text=True)  # what was typed stays
    renamed = client.post("/admin/buses", data={"csrf_token": csrf_token(client, "/admin/buses"),
                                                "bus_id": str(bus.id), "name": "Nordbus", "capacity_notes": ""})
    assert renamed.status_code == 303
    db.session.expire_all()
    assert db.session.get(Bus, bus.id).name == "Nordbus"
    page = client.get("/admin/buses").get_data(as_text=True)
    assert "Nordbus" in page and f"/admin/posters/bus.svg?bus={bus.id}" in page
    svg = client.get(f"/admin/posters/bus.svg?bus={bus.id}")
    assert svg.status_code == 200


def test_the_migration_gives_existing_stops_one_bus(tmp_path):
    from flask_migrate import downgrade, upgrade

    from busapp import create_app
    from busapp.core.config import database_url

    app = create_app({"APP_ENV": "testing",
                      "SQLALCHEMY_DATABASE_URI": database_url(f"sqlite:///{tmp_path / 'm.sqlite3'}")})
    with app.app_context():
        upgrade(revision="0006_announced_start")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO district (id, number, name, slug) VALUES (1, '07', 'St. Gertrud', 'g')"))
            conn.execute(sa.text("INSERT INTO place (id, district_id, name, address, postcode, transit_stop, "
                                 "transit_lines, finding_note, texts, source, is_example, created_at, updated_at) "
                                 "VALUES (1, 1, 'Markt', '', '', '', '', '', '{}', '', 0, :t, :t)"),
                         {"t": "2026-12-01 09:00:00"})
            for i in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO stop (id, district_id, place_id, starts_at, ends_at, status, cancel_reason, "
                    "change_note, live_status, live_note, texts, sequence, created_at, updated_at) VALUES "
                    "(:id, 1, 1, :s, :e, 'published', '', '', 'scheduled', '', '{}', 0, :s, :s)"),
                    {"id": i, "s": f"2026-12-0{i} 09:00:00", "e": f"2026-12-0{i} 12:00:00"})
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, name FROM bus")).all() == [(1, "Digitalwerkstatt-Bus")]
            assert conn.execute(sa.text("SELECT bus_id FROM stop ORDER BY id")).scalars().all() == [1, 1]
        downgrade(revision="0006_announced_start")
        db.engine.dispose()


def test_a_week_of_drafts_is_published_or_deleted_at_once(app, client, login, make_stop, now):
    from busapp.models import StopStatus

    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    monday = service.week_of(service.local_day(now) + timedelta(weeks=2))
    start = service.local(monday, datetime.min.time().replace(hour=10))
    drafts = [make_stop(starts_at=start + timedelta(days=i), status=StopStatus.DRAFT, place=f"Ort {i}")
              for i in range(3)]
    later = make_stop(starts_at=start + timedelta(days=8), status=StopStatus.DRAFT, place="Nächste Woche")
    draft_ids, later_id = [s.id for s in drafts], later.id
    page = client.get(f"/admin?week={monday.isoformat()}").get_data(as_text=True)
    assert "Publish the 3 drafts of this week" in page
    answer = client.post("/admin/week/publish", data={"csrf_token": csrf_token(client, "/admin"),
                                                      "week": monday.isoformat()})
    assert answer.status_code == 303
    db.session.expire_all()
    assert {db.session.get(Stop, i).status for i in draft_ids} == {StopStatus.PUBLISHED}
    assert db.session.get(Stop, later_id).status == StopStatus.DRAFT  # another week's draft stays
    client.post("/admin/week/delete-drafts", data={"csrf_token": csrf_token(client, "/admin"),
                                                   "week": (monday + timedelta(days=7)).isoformat()})
    db.session.expire_all()
    assert db.session.get(Stop, later_id) is None and all(db.session.get(Stop, i) for i in draft_ids)
