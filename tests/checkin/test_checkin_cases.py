"""The shared decision cases (tests/cases/checkin.json) against the server's rules; tests/js/checkin_cases.test.js
runs the same file against the tablet's offline script, so the two cannot drift apart."""
from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import pytest

from busapp.checkin import service
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus

CASES = json.loads((Path(__file__).parents[1] / "cases" / "checkin.json").read_text(encoding="utf-8"))


@pytest.fixture
def day(make_stop, make_workshop, now):
    stops = {key: make_stop(starts_at=now - timedelta(minutes=30) + timedelta(minutes=5 * i), hours=4, place=key)
             for i, key in enumerate(CASES["day"]["stops"])}
    workshops = {key: make_workshop(stop=stops[stop], capacity=12, starts_at=stops[stop].starts_at + timedelta(hours=1),
                                    title=key) for key, stop in CASES["day"]["workshops"].items()}
    for b in CASES["day"]["bookings"]:
        db.session.add(Booking(workshop_id=workshops[b["workshop"]].id, code=b["code"], name=b["name"], party_size=1,
                               status=BookingStatus(b["status"]), arrived=b["arrived"],
                               manage_token=secrets.token_urlsafe(24), idempotency_key=secrets.token_hex(16)))
    db.session.commit()
    return workshops


@pytest.mark.parametrize("case", CASES["decide"], ids=lambda c: f"{c['input']!r}@{c['at']}")
def test_the_server_decides_each_case(day, case):
    assert service.decide(case["input"], day[case["at"]]).outcome == case["outcome"]


@pytest.mark.parametrize("case", CASES["search"], ids=lambda c: f"{c['query']}->{c['name']}")
def test_the_door_list_search_finds_names_as_people_type_them(make_stop, make_workshop, now, case):
    workshop = make_workshop(stop=make_stop(starts_at=now), capacity=8)
    db.session.add(Booking(workshop_id=workshop.id, code="NAME22", name=case["name"], party_size=1,
                           status=BookingStatus.CONFIRMED, manage_token=secrets.token_urlsafe(24),
                           idempotency_key=secrets.token_hex(16)))
    db.session.commit()
    found = [b.name for b in service.bookings_for(workshop, case["query"])]
    assert found == ([case["name"]] if case["found"] else [])
