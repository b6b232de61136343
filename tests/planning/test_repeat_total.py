"""'Repeat this stop' says how many stops the series makes, this one included, before anything is saved."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from busapp.core.extensions import db
from busapp.models import Stop
from tests.conftest import csrf_token


@pytest.fixture
def stop(make_stop, now):
    return make_stop(place="Haus für alle", starts_at=now + timedelta(days=3))


def _total(client, stop, **fields) -> str:
    data = {"csrf_token": csrf_token(client, f"/admin/stops/{stop.id}/repeat"), "rule": "weekly", **fields}
    response = client.post(f"/admin/stops/{stop.id}/repeat/total", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("{#") is False and 'id="repeat-total"' in html and "<html" not in html
    return " ".join(html.split())


def test_four_times_makes_five_stops_and_the_form_says_so(client, login, stop):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    assert "Das macht 5 Halte: diesen und 4 neue." in _total(client, stop, count="4")
    assert "Das macht 2 Halte: diesen und 1 neuen." in _total(client, stop, count="1")
    local = stop.starts_at.astimezone(ZoneInfo("Europe/Berlin"))  # the stop's day in Lübeck, not in UTC
    day = (local + timedelta(weeks=3)).date()
    assert "Das macht 4 Halte" in _total(client, stop, until=day.strftime("%d.%m.%Y"))
    left_out = (local + timedelta(weeks=1)).date().strftime("%d.%m.%Y")
    # A date left out of a number of repeats is made up at the end; up to a last date it is one fewer.
    assert "Das macht 5 Halte" in _total(client, stop, count="4", exceptions=left_out)
    assert "Das macht 3 Halte" in _total(client, stop, until=day.strftime("%d.%m.%Y"), exceptions=left_out)
    assert "wie viele neue Halte" in _total(client, stop)
    assert "wie viele neue Halte" in _total(client, stop, count="banana")
    assert db.session.query(Stop).count() == 1  # nothing saved


def test_the_preview_and_its_button_count_this_stop_too(client, login, stop):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    page = client.get(f"/admin/stops/{stop.id}/repeat").get_data(as_text=True)
    assert '<label for="count">Wie viele neue Halte</label>' in page
    assert '<label for="until">Oder bis zu diesem Datum</label>' in page  # one of the two is needed: no "(freiwillig)"
    data = {"csrf_token": csrf_token(client, f"/admin/stops/{stop.id}/repeat"), "rule": "weekly", "count": "4",
            "confirm": ""}
    html = " ".join(client.post(f"/admin/stops/{stop.id}/repeat", data=data).get_data(as_text=True).split())
    assert "Das macht 5 Halte: diesen und 4 neue." in html
    assert "4 neue Halte anlegen (5 mit diesem)" in html
