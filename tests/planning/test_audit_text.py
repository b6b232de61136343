"""The audit log reads as sentences in the city's time, with links to what each event is about."""
from __future__ import annotations

import ast
import re
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent, Stop, User, audit
from busapp.planning import audit_text
from tests.sqlcount import statements

BUSAPP = Path(__file__).resolve().parents[2] / "busapp"


def _actions_in_source() -> tuple[set[str], set[str]]:
    """Every action the code records: literal names given to audit() or AuditEvent(action=...), and the fixed
    starts of names made with an f-string (job-{name})."""
    names, prefixes = set(), set()

    def take(node) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        elif isinstance(node, ast.IfExp):
            take(node.body)
            take(node.orelse)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            prefixes.add(node.values[0].value)

    for path in BUSAPP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "audit" and node.args:
                take(node.args[0])
            elif name == "AuditEvent":
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        take(keyword.value)
    return names, prefixes


def test_every_recorded_action_has_a_sentence():
    names, prefixes = _actions_in_source()
    assert len(names) > 40 and "stop-cancel" in names and "job-" in prefixes  # the search itself finds them
    missing = sorted(n for n in names if audit_text.sentence_for(n) is None)
    assert not missing, f"add a sentence to busapp/planning/audit_text.py SENTENCES for: {missing}"
    assert not [p for p in prefixes if p not in audit_text.PREFIXES and p != "checkin-"], prefixes
    from busapp.checkin.outcomes import KINDS

    assert not [k for k in KINDS if audit_text.sentence_for(f"checkin-{k}") is None]


def _page(client) -> str:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    return client.get("/admin/audit").get_data(as_text=True)


def _row(html: str, needle: str) -> str:
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if needle in row:
            return " ".join(row.split())
    raise AssertionError(f"no row with {needle!r}")


def test_a_cancellation_reads_as_a_sentence_with_a_link_in_the_citys_time(client, login, make_stop):
    user = login("coordinator")
    stop = make_stop(place="Haus für alle")
    event = audit("stop-cancel", stop, user=db.session.get(User, user.id), reason="Der Bus ist <kaputt>",
                  bookings=[1, 2, 3], mailed=2, phone_only=1)
    event.at = datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc)  # already 2 December in Lübeck
    db.session.commit()
    row = _row(_page(client), "abgesagt")
    assert f'<a href="/admin/stops/{stop.id}">Haus für alle,' in row
    shown = re.sub(r"<[^>]+>", " ", row)
    assert "02.12.2026, 00:30" in shown and "23:30" not in shown
    assert f"{user.email} hat den Halt" in row
    assert "„Der Bus ist &lt;kaputt&gt;“" in row and "<kaputt>" not in row
    assert "3 Anmeldungen wurden mit abgesagt" in row
    assert "{" not in row.split("Details")[0]  # no JSON in the sentence


def test_a_change_lists_its_fields_before_and_after(client, login, make_stop, make_place):
    from busapp.planning import service

    user = login("coordinator")
    stop = make_stop(place="Marli-Forum")
    other = make_place(stop.district, "Bücherei Kücknitz")
    before = {"place_id": stop.place_id, "starts_at": "2026-12-08T09:00:00+00:00", "status": "draft"}
    after = {"place_id": other.id, "starts_at": "2026-12-08T10:00:00+00:00", "status": "draft"}
    audit("stop-update", stop, user=db.session.get(User, user.id), before=before, after=after, told=2)
    db.session.commit()
    row = _row(_page(client), "geändert")
    assert "geändert; 2 Anmeldungen wurden benachrichtigt." in row
    assert "Ort: Marli-Forum → Bücherei Kücknitz" in row
    assert "Beginn: 08.12.2026, 10:00 → 08.12.2026, 11:00" in row
    assert "Stand:" not in row  # unchanged fields are not listed
    assert service  # the service module is what writes such events


def test_a_deleted_object_keeps_its_number_and_an_unknown_action_still_reads(client, login):
    login("coordinator")
    db.session.add(AuditEvent(action="stop-publish", object_type="stop", object_id="999999", detail={}))
    db.session.add(AuditEvent(action="something-new", object_type="", object_id="", detail={"n": 3}))
    db.session.commit()
    html = _page(client)
    assert "Das System hat den Halt stop 999999 (gelöscht) veröffentlicht." in _row(html, "999999")
    row = _row(html, "something-new")
    assert "Das System: something-new" in row and "<dt>n</dt><dd>3</dd>" in row


def test_residents_and_tablets_are_named_as_such(client, login, make_workshop):
    from busapp.models import Booking, BookingStatus

    login("coordinator")
    workshop = make_workshop(title="Videoanrufe")
    booking = Booking(workshop=workshop, party_size=1, name="Ada", status=BookingStatus.CANCELLED, code="K7MQ4P",
                      manage_token="t" * 40, idempotency_key="k" * 32)
    db.session.add(booking)
    db.session.flush()
    audit("booking-cancel", booking, workshop=workshop.id, party_size=1, was="confirmed")
    db.session.add(AuditEvent(action="checkin-checkin", object_type="booking", object_id=str(booking.id),
                              device="Tablet vorne", detail={"outcome": "valid", "people": 1}))
    db.session.commit()
    html = _page(client)
    link = f'<a href="/admin/workshops/{workshop.id}/bookings#booking-{booking.id}">K7MQ4P („Videoanrufe“)</a>'
    assert f"Die angemeldete Person hat die Anmeldung {link} abgesagt." in _row(html, "abgesagt")
    assert f"Tablet „Tablet vorne“ hat die Anmeldung {link} eingecheckt." in _row(html, "eingecheckt")


def test_the_page_loads_its_objects_in_a_few_statements(app, client, login, make_stop):
    user = login("coordinator")
    actor = db.session.get(User, user.id)
    for n in range(30):
        stop = make_stop(place=f"Ort {n}")
        audit("stop-publish", stop, user=actor)
        audit("place-update", stop.place, user=actor, before={"name": "alt"}, after={"name": stop.place.name})
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    with statements() as seen:
        html = client.get("/admin/audit").get_data(as_text=True)
    assert html.count("hat den Halt") == 30 and html.count("hat den Ort") == 30
    assert len(seen) <= 15, "\n".join(seen)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Stop)) == 30
