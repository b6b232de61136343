"""The call list's ticks ("called", "reached") are kept on the server, per person and per change of the stop."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, CallMark, Stop, utcnow
from busapp.planning import calls, changes
from tests.conftest import csrf_token


def _book(workshop, name: str, contact: str) -> Booking:
    booking = Booking(workshop=workshop, party_size=1, name=name, contact=contact, status=BookingStatus.CONFIRMED,
                      code=secrets.token_hex(3).upper(), manage_token=secrets.token_urlsafe(24),
                      idempotency_key=secrets.token_hex(16), confirmed_at=utcnow())
    db.session.add(booking)
    db.session.commit()
    return booking


@pytest.fixture
def cancelled(app, make_workshop, make_user):
    """A stop cancelled with two people to call and one told by email."""
    workshop = make_workshop(title="Videoanrufe")
    emine = _book(workshop, "Emine", "0451 123456")
    hans = _book(workshop, "Hans", "0170 99887766")
    _book(workshop, "Ada", "ada@example.org")
    coordinator = make_user("coordinator")
    changes.cancel(workshop.stop_id, None, "Der Bus ist in der Werkstatt.", coordinator)
    return {"stop": workshop.stop_id, "emine": emine.id, "hans": hans.id, "coordinator": coordinator}


def _row(html: str, booking_id: int) -> str:
    found = re.search(rf'<tr id="call-{booking_id}".*?</tr>', html, re.S)
    assert found, f"no row for booking {booking_id}"
    return found[0]


def _checked(row: str, kind: str) -> bool:
    box = re.search(rf'<input type="checkbox" id="{kind}-\d+"[^>]*>', row)[0]
    return " checked" in box


def _tick(client, stop_id: int, booking_id: int, called: bool, reached: bool, was=(False, False), htmx=True):
    data = {"csrf_token": csrf_token(client, f"/admin/stops/{stop_id}/calls"), "only": str(booking_id),
            f"was-called-{booking_id}": "1" if was[0] else "0", f"was-reached-{booking_id}": "1" if was[1] else "0"}
    if called:
        data[f"called-{booking_id}"] = "1"
    if reached:
        data[f"reached-{booking_id}"] = "1"
    return client.post(f"/admin/stops/{stop_id}/calls/ticks", data=data, headers={"HX-Request": "true"} if htmx else {})


def test_a_tick_is_saved_and_shown_to_everyone(client, login, cancelled):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    stop_id, emine = cancelled["stop"], cancelled["emine"]
    page = client.get(f"/admin/stops/{stop_id}/calls").get_data(as_text=True)
    assert "Emine" in page and "Hans" in page and "Ada" not in page
    assert not _checked(_row(page, emine), "called")
    answer = _tick(client, stop_id, emine, called=True, reached=False)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in html
    assert _checked(_row(html, emine), "called") and not _checked(_row(html, emine), "reached")
    assert 'hx-swap-oob="innerHTML"' in html and "Emine angerufen, noch nicht erreicht" in html
    # Another coordinator opening the list sees it.
    login("coordinator")
    again = client.get(f"/admin/stops/{stop_id}/calls").get_data(as_text=True)
    assert _checked(_row(again, emine), "called") and not _checked(_row(again, cancelled["hans"]), "called")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "call-mark")) == 1


def test_reached_means_called_and_taking_called_back_takes_both(client, login, cancelled):
    login("coordinator")
    stop_id, emine = cancelled["stop"], cancelled["emine"]
    html = _tick(client, stop_id, emine, called=False, reached=True).get_data(as_text=True)
    assert _checked(_row(html, emine), "called") and _checked(_row(html, emine), "reached")
    mark = db.session.get(CallMark, emine)
    assert mark.called_at is not None and mark.reached_at is not None
    html = _tick(client, stop_id, emine, called=False, reached=True, was=(True, True)).get_data(as_text=True)
    assert not _checked(_row(html, emine), "called") and not _checked(_row(html, emine), "reached")


def test_the_form_without_javascript_saves_only_rows_that_changed(client, login, cancelled):
    """A list shown before another coordinator ticked Hans does not untick him when it is saved."""
    login("coordinator")
    stop_id, emine, hans = cancelled["stop"], cancelled["emine"], cancelled["hans"]
    token = csrf_token(client, f"/admin/stops/{stop_id}/calls")
    calls.mark(stop_id, hans, True, True, cancelled["coordinator"])  # meanwhile, someone else reached Hans
    response = client.post(f"/admin/stops/{stop_id}/calls/ticks", data={
        "csrf_token": token, "row": [str(emine), str(hans)], f"called-{emine}": "1",
        f"was-called-{emine}": "0", f"was-reached-{emine}": "0", f"was-called-{hans}": "0", f"was-reached-{hans}": "0",
    })
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(CallMark, emine).called_at is not None
    assert db.session.get(CallMark, hans).reached_at is not None  # still reached


def test_a_new_change_of_the_stop_clears_the_ticks(client, login, make_workshop):
    """Ticks are about the stop's latest change: when it changes again, everybody is to be called again."""
    login("coordinator")
    workshop = make_workshop()
    jan = _book(workshop, "Jan", "0451 555555")
    stop = db.session.get(Stop, workshop.stop_id)
    stop.changed_at, stop.change_note = utcnow(), "Wir fangen eine Stunde später an."  # a move the people were told
    db.session.commit()
    _tick(client, stop.id, jan.id, called=True, reached=True)
    assert _checked(_row(client.get(f"/admin/stops/{stop.id}/calls").get_data(as_text=True), jan.id), "reached")
    stop = db.session.get(Stop, workshop.stop_id)
    stop.changed_at = utcnow() + timedelta(seconds=1)  # and then moved again
    db.session.commit()
    page = client.get(f"/admin/stops/{stop.id}/calls").get_data(as_text=True)
    assert not _checked(_row(page, jan.id), "called") and not _checked(_row(page, jan.id), "reached")


def test_only_people_on_the_list_can_be_ticked(client, login, cancelled, make_workshop):
    login("coordinator")
    stranger = _book(make_workshop(), "Fremd", "0451 000000")
    assert _tick(client, cancelled["stop"], stranger.id, called=True, reached=False).status_code == 409
    assert db.session.get(CallMark, stranger.id) is None
    with pytest.raises(calls.NotOnTheList):
        calls.mark(cancelled["stop"], stranger.id, True, False, None)


def test_staff_cannot_tick(client, login, cancelled):
    login("staff")
    assert client.get(f"/admin/stops/{cancelled['stop']}/calls").status_code == 403
    assert client.post(f"/admin/stops/{cancelled['stop']}/calls/ticks", data={"only": "1"}).status_code in (400, 403)
