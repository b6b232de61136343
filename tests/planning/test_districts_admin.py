"""Coordinators add, rename and merge districts under /admin/districts."""
from __future__ import annotations

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import District, Place, Stop
from tests.conftest import csrf_token


def _post(client, **data):
    return client.post("/admin/districts", data={"csrf_token": csrf_token(client, "/admin/districts"), **data})


def test_add_rename_and_merge_districts(app, client, login, make_district, make_stop):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    moisling = make_district(name="Moisling", slug="moisling", number="09")
    stop = make_stop(moisling, place="Bücherei")
    moisling_id, stop_id = moisling.id, stop.id
    assert _post(client, action="add", name="  Neue   Siedlung ").status_code == 303
    added = db.session.scalar(sa.select(District).where(District.name == "Neue Siedlung"))
    assert added.slug == "neue-siedlung" and added.number == "10"
    twice = _post(client, action="add", name="moisling")
    text = twice.get_data(as_text=True)
    assert twice.status_code == 422 and "already" in text and "Moisling, Neue Siedlung" in text
    assert 'value="moisling"' in text  # what was typed stays
    assert _post(client, action="rename", district=str(added.id), name="Hochschulstadtteil").status_code == 303
    db.session.expire_all()
    assert db.session.get(District, added.id).name == "Hochschulstadtteil"
    same = _post(client, action="merge", source=str(moisling.id), target=str(moisling.id))
    assert same.status_code == 422 and "two different districts" in same.get_data(as_text=True)
    assert _post(client, action="merge", source=str(moisling.id), target=str(added.id)).status_code == 303
    db.session.expire_all()
    assert db.session.get(District, moisling_id) is None
    assert db.session.get(Stop, stop_id).district_id == added.id
    assert {p.district_id for p in db.session.scalars(sa.select(Place))} == {added.id}
    # A rename keeps the address printed on posters.
    assert "Hochschulstadtteil" in client.get("/d/neue-siedlung").get_data(as_text=True)
