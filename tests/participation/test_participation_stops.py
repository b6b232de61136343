"""Mitreden where the bus goes: consultations run at chosen stops or districts, the bus's and each stop's QR code
open the consultation running there and record the stop with the answer (as do the station and the paper card),
the board's report counts answers by stop, and the staff landing page leads to the station."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Bus
from busapp.participation import service
from busapp.participation.models import Channel, Consultation, Contribution, Question, QuestionKind
from busapp.participation.service import Submission
from tests.conftest import csrf_token


@pytest.fixture
def make_consultation(app, now):
    def make(starts=-1, ends=10, title="Digitales Lübeck", **kw) -> Consultation:
        c = Consultation(title=title, idea_question="Was soll digital einfacher werden?",
                         starts_at=now + timedelta(days=starts), ends_at=now + timedelta(days=ends), **kw)
        c.questions = [Question(position=1, kind=QuestionKind.SINGLE, text="Wie oft?", options=["oft", "selten"])]
        db.session.add(c)
        db.session.commit()
        return c

    return make


@pytest.fixture
def here(make_stop, now):
    """A stop the bus is at now."""
    return make_stop(starts_at=now - timedelta(hours=1), hours=4, place="Marktplatz")


def test_where_a_consultation_runs(make_consultation, make_stop, make_district, now):
    north, south = make_district(name="Nord"), make_district(name="Süd")
    a = make_stop(district=north, place="Schule")
    b = make_stop(district=south, place="Kirche", starts_at=now + timedelta(days=2))
    everywhere = make_consultation()
    in_north = make_consultation(district_ids=[north.id])
    only_b = make_consultation(stop_ids=[b.id], district_ids=[north.id])
    assert [service.runs_at(c, a) for c in (everywhere, in_north, only_b)] == [True, True, False]
    assert [service.runs_at(c, b) for c in (everywhere, in_north, only_b)] == [True, False, True]
    # The most particular one first: chosen stops, then districts, then everywhere.
    assert service.for_stop(b, now) == only_b
    assert service.for_stop(a, now) == in_north
    assert service.stops_of(only_b) == [b] and service.stops_of(in_north) == [a]
    assert service.for_stop(None, now) is None


def test_the_stop_code_opens_the_consultation_there_and_records_the_stop(client, make_consultation, here,
                                                                         make_stop, now):
    c = make_consultation(stop_ids=[here.id])
    elsewhere = make_stop(starts_at=now + timedelta(days=3), place="Schulhof")
    response = client.get(f"/mitreden/halt/{here.id}")
    assert response.status_code == 303 and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Location"] == f"/mitreden/{c.id}?halt={here.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'name="stop" type="hidden" value="{here.id}"' in page
    token = csrf_token(client, f"/mitreden/{c.id}")
    sent = client.post(f"/mitreden/{c.id}", data={"csrf_token": token, "idempotency_key": "stop-code-0001",
                                                  "stop": str(here.id), "idea": "Mehr WLAN"})
    assert sent.status_code == 303
    # A stop where the consultation does not run, or none at all, is not recorded, whatever the form says.
    client.post(f"/mitreden/{c.id}", data={"csrf_token": token, "idempotency_key": "stop-code-0002",
                                           "stop": str(elsewhere.id), "idea": "Bänke"})
    client.post(f"/mitreden/{c.id}", data={"csrf_token": token, "idempotency_key": "stop-code-0003",
                                           "stop": "99999999999999999999", "idea": "Licht"})
    assert db.session.execute(sa.select(Contribution.idempotency_key, Contribution.stop_id)
                              .order_by(Contribution.id)).all() == [
        ("stop-code-0001", here.id), ("stop-code-0002", None), ("stop-code-0003", None)]
    # No consultation runs at the other stop: its code leads to the list; an unknown stop is not found.
    assert client.get(f"/mitreden/halt/{elsewhere.id}").headers["Location"] == "/mitreden"
    assert client.get("/mitreden/halt/999999").status_code == 404
    assert f'name="stop" type="hidden" value=""' in client.get(
        f"/mitreden/{c.id}?halt={elsewhere.id}").get_data(as_text=True)


def test_the_bus_code_opens_the_consultation_of_the_stop_the_bus_is_at(client, make_consultation, make_stop,
                                                                        now):
    first, second = Bus(name="Digitalwerkstatt-Bus"), Bus(name="Kleiner Bus")
    db.session.add_all([first, second])
    db.session.commit()
    assert client.get("/mitreden/bus").headers["Location"] == "/mitreden"  # nothing runs yet
    at_first = make_stop(starts_at=now - timedelta(hours=1), hours=4, place="Marktplatz", bus_id=first.id)
    at_second = make_stop(starts_at=now - timedelta(hours=1), hours=4, place="Schulhof", bus_id=second.id)
    everywhere = make_consultation(title="Überall")
    there = make_consultation(title="Nur am Schulhof", stop_ids=[at_second.id])
    assert client.get("/mitreden/bus").headers["Location"] == f"/mitreden/{everywhere.id}?halt={at_first.id}"
    assert client.get(f"/mitreden/bus/{second.id}").headers["Location"] == \
        f"/mitreden/{there.id}?halt={at_second.id}"
    assert client.get("/mitreden/bus/999").status_code == 404


def test_the_bus_code_without_a_stop_opens_a_running_consultation(client, make_consultation, make_district):
    c = make_consultation(district_ids=[make_district().id])
    assert client.get("/mitreden/bus").headers["Location"] == f"/mitreden/{c.id}"


def test_coordinators_choose_stops_inside_the_period(client, login, make_stop, now):
    login("coordinator")
    inside = make_stop(starts_at=now + timedelta(days=3), place="Schule")
    outside = make_stop(starts_at=now + timedelta(days=40), place="Kirche")
    token = csrf_token(client, "/admin/mitreden/neu")
    form = client.get("/admin/mitreden/neu").get_data(as_text=True)
    assert f'value="{inside.id}"' in form and "Kirche" in form
    day = lambda d: (now + timedelta(days=d)).astimezone(service.tour.town.zone()).date().isoformat()  # noqa: E731
    data = {"csrf_token": token, "title": "Digitales Lübeck", "idea_question": "Was?", "starts": day(0),
            "ends": day(20), "stops": [str(inside.id), str(outside.id)]}
    bad = client.post("/admin/mitreden/neu", data=data)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "außerhalb des Zeitraums" in html and "Kirche" in html
    assert 'value="Digitales Lübeck"' in html
    assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0
    data["stops"] = [str(inside.id)]
    assert client.post("/admin/mitreden/neu", data=data).status_code == 303
    c = db.session.scalar(sa.select(Consultation))
    assert c.stop_ids == [inside.id]
    edit = client.get(f"/admin/mitreden/{c.id}/bearbeiten").get_data(as_text=True)
    assert re.search(rf'checked[^>]*value="{inside.id}"|value="{inside.id}"[^>]*checked', edit)


def test_the_station_records_the_stop_it_was_started_at(client, login, make_consultation, here):
    c = make_consultation()
    login("staff")
    landing = client.get("/staff/").get_data(as_text=True)
    assert f'href="/admin/mitreden/station?halt={here.id}"' in landing
    token = csrf_token(client, f"/admin/mitreden/station?halt={here.id}")
    assert client.post(f"/admin/mitreden/station?halt={here.id}",
                       data={"csrf_token": token, "pin": "4711"}).status_code == 303
    page = client.get("/mitreden/station").get_data(as_text=True)
    ticket = re.search(r'name="station_ticket" value="([^"]+)"', page).group(1)
    assert service.read_station_ticket(ticket).stop_id == here.id
    token = csrf_token(client, "/mitreden/station")
    client.post("/mitreden/station", data={"csrf_token": token, "idempotency_key": "station-stop-01",
                                           "station_ticket": ticket, "idea": "Hier", "stop": "1"})
    assert db.session.execute(sa.select(Contribution.channel, Contribution.stop_id)).one() == (
        Channel.STATION, here.id)
    assert c.id == db.session.scalar(sa.select(Contribution.consultation_id))


def test_a_paper_card_names_its_stop(client, login, make_consultation, here):
    c = make_consultation()
    login("coordinator")
    token = csrf_token(client, f"/admin/mitreden/{c.id}/papier")
    page = client.get(f"/admin/mitreden/{c.id}/papier").get_data(as_text=True)
    assert "Marktplatz" in page and 'name="paper_stop"' in page
    response = client.post(f"/admin/mitreden/{c.id}/papier", data={
        "csrf_token": token, "idempotency_key": "paper-stop-0001", "idea": "Auf Papier", "paper_stop": str(here.id)})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Contribution.stop_id)) == here.id


def test_report_counts_answers_by_stop(app, make_consultation, make_stop, now):
    c = make_consultation()
    a = make_stop(starts_at=now - timedelta(hours=2), place="Schule")
    b = make_stop(starts_at=now + timedelta(days=1), place="Kirche")
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.9"}):
        for n, stop in enumerate([a, a, b, None]):
            service.save(c, Submission(idea=f"Idee {n}", stop_id=stop.id if stop else None), key=f"by-stop-{n:04d}",
                         channel=Channel.PAPER)
        rows = service.report(c).by_stop
    assert [(label.split(" · ")[1], n) for label, n in rows[:-1]] == [
        (f"{a.district.name}, Schule", 2), (f"{b.district.name}, Kirche", 1)]
    assert rows[-1] == ("keine Angabe", 1)


def test_codes_per_bus_and_stop(client, login, make_consultation, here, make_stop, now):
    make_consultation(stop_ids=[here.id])
    elsewhere = make_stop(starts_at=now + timedelta(days=2), place="Kirche")
    login("coordinator")
    page = client.get("/admin/mitreden/codes")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "/mitreden/bus</bdi>" in html and f"/mitreden/halt/{here.id}</bdi>" in html
    assert f"/mitreden/halt/{elsewhere.id}" not in html  # no consultation runs there
    assert html.count('class="qr"') == 2
    svg = client.get(f"/admin/mitreden/codes/halt/{here.id}.svg?mm=60")
    assert svg.mimetype == "image/svg+xml" and 'width="60mm"' in svg.get_data(as_text=True)
    assert "attachment" in svg.headers["Content-Disposition"]
    assert client.get("/admin/mitreden/codes/bus.svg").status_code == 200
    assert client.get("/admin/mitreden/codes/bus.svg?bus=999").status_code == 404


def test_codes_decode_to_their_address(client, login, make_consultation, here):
    from tests.qrtools import decode

    make_consultation()
    login("coordinator")
    body = client.get(f"/admin/mitreden/codes/halt/{here.id}.svg").get_data(as_text=True)
    assert [url.rsplit("/", 3)[-3:] for url in decode(body)] == [["mitreden", "halt", str(here.id)]]
