"""Setting up a tablet (the pairing rule in busapp/checkin/service.py): a tablet works only once a coordinator has
approved it, at most TABLETS_PER_BUS per bus (also when coordinators approve at once); a coordinator setting up a
tablet themselves approves it at once; a waiting tablet gets nothing and says so; refusing and revoking stop it."""
from __future__ import annotations

import re

import sqlalchemy as sa

from busapp.checkin import service
from busapp.core.extensions import db
from busapp.models import AuditEvent, Bus, Device, SeatShare
from tests.conftest import PASSWORD, csrf_token
from tests.checkin.test_checkin_service import make_booking, today  # noqa: F401 - fixtures
from tests.checkin.test_checkin_shares import _run_at_once
from tests.checkin.test_checkin_views import form


def ask(client, name: str, **extra):
    """The signed-in person asks to set up a tablet on /staff/tablet; returns the answer and the credential."""
    response = form(client, "/staff/tablet", {"name": name, **extra})
    found = re.search(r'data-credential="([^"]+)"', response.get_data(as_text=True))
    return response, found.group(1) if found else None


def coordinator_client(app, make_user):
    client = app.test_client()
    user = make_user("coordinator")
    token = csrf_token(client, "/signin")
    assert client.post("/signin", data={"email": user.email, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 303
    return client


def admin_post(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/tablets")})


def test_four_tablets_asked_for_by_one_staff_account_three_approved_the_fourth_waits(app, client, login, make_user,
                                                                                    today, make_booking):
    app.config["TABLETS_PER_BUS"] = 3
    stop, later, _ = today
    make_booking(later)
    login("staff")
    asked = [ask(client, f"Tablet {n}") for n in range(1, 5)]
    credentials = [credential for _response, credential in asked]
    # Each waits: it says so with its code, and gets neither the day's data nor a seat of any workshop.
    for response, credential in asked:
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'data-state="waiting"' in page
        assert "wartet auf die Freigabe" in page
        day = client.get(f"/staff/day.json?stop={stop.id}", headers={"X-Device-Credential": credential})
        assert day.status_code == 403 and day.json["error"] == "waiting"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SeatShare)) == 0
    coordinator = coordinator_client(app, make_user)
    listing = coordinator.get("/admin/tablets").get_data(as_text=True)
    devices = [service.waiting_device(c) for c in credentials]
    assert all(service.pairing_code(d) in listing for d in devices)
    for device in devices[:3]:
        assert admin_post(coordinator, f"/admin/tablets/{device.id}/approve").status_code == 303
    # The fourth: the bus is full; the page says so next to it, and it keeps waiting.
    full = admin_post(coordinator, f"/admin/tablets/{devices[3].id}/approve")
    page = full.get_data(as_text=True)
    assert full.status_code == 422 and "Tablet 4" in page and "schon 3 Tablets" in page
    assert f'id="tablet-{devices[3].id}-error"' in page
    assert service.waiting_device(credentials[3]) is not None and service.device_for(credentials[3]) is None
    assert client.get("/staff/day.json", headers={"X-Device-Credential": credentials[0]}).status_code == 200
    # Revoking one makes room.
    admin_post(coordinator, f"/admin/tablets/{devices[0].id}/revoke")
    assert admin_post(coordinator, f"/admin/tablets/{devices[3].id}/approve").status_code == 303
    assert service.device_for(credentials[3]) is not None
    assert "3 von 3 Tablets" in coordinator.get("/admin/tablets").get_data(as_text=True)
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("device-%"))).all()
    assert actions.count("device-register") == 4 and actions.count("device-approve") == 4
    assert actions.count("device-revoke") == 1


def test_a_coordinator_setting_up_a_tablet_approves_it_at_once_while_the_bus_has_room(app, client, login):
    app.config["TABLETS_PER_BUS"] = 1
    coordinator = login("coordinator")
    response, credential = ask(client, "Tablet vorne")
    assert 'data-state="approved"' in response.get_data(as_text=True)
    device = service.device_for(credential)
    assert device is not None and device.approved_by_id == coordinator.id
    # The bus is full now: the next one waits, and the page says why.
    response, second = ask(client, "Tablet hinten")
    page = response.get_data(as_text=True)
    assert 'data-state="waiting"' in page and "mehr sind nicht erlaubt" in page
    assert service.device_for(second) is None and service.waiting_device(second) is not None


def test_a_refused_tablet_is_told_and_forgets_its_credential(app, client, login, make_user):
    login("staff")
    _response, credential = ask(client, "Fremdes Tablet")
    device = service.waiting_device(credential)
    coordinator = coordinator_client(app, make_user)
    assert admin_post(coordinator, f"/admin/tablets/{device.id}/refuse").status_code == 303
    answer = client.get("/staff/day.json", headers={"X-Device-Credential": credential})
    assert answer.status_code == 401 and answer.json["error"] == "revoked"
    # Refused is final: it cannot be approved afterwards.
    late = admin_post(coordinator, f"/admin/tablets/{device.id}/approve")
    assert late.status_code == 422 and "wartet nicht mehr" in late.get_data(as_text=True)
    assert "Abgelehnt am" in coordinator.get("/admin/tablets").get_data(as_text=True)


def test_a_tablet_needs_a_name_and_no_more_than_ten_wait_at_once(client, login):
    login("staff")
    empty, credential = ask(client, "   ")
    assert empty.status_code == 422 and credential is None
    assert 'aria-invalid="true"' in empty.get_data(as_text=True)
    for n in range(service.MAX_WAITING):
        assert ask(client, f"Tablet {n}")[1]
    refused, credential = ask(client, "Noch eins")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and credential is None
    assert "Zu viele Tablets warten" in page and 'value="Noch eins"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == service.MAX_WAITING


def test_with_several_buses_the_tablet_names_its_bus_and_each_bus_has_its_own_limit(app, client, login, make_user,
                                                                                   today):
    app.config["TABLETS_PER_BUS"] = 1
    first = db.session.scalar(sa.select(Bus).order_by(Bus.id))
    second = Bus(name="Zweiter Bus")
    db.session.add(second)
    db.session.commit()
    login("staff")
    page = client.get("/staff/tablet").get_data(as_text=True)
    assert 'name="bus"' in page and "Zweiter Bus" in page
    missing, _ = ask(client, "Ohne Bus")
    assert missing.status_code == 422 and "Bitte wählen Sie den Bus" in missing.get_data(as_text=True)
    _r, one = ask(client, "Vorne", bus=str(first.id))
    _r, two = ask(client, "Zweiter vorne", bus=str(second.id))
    coordinator = make_user("coordinator")
    for credential in (one, two):
        service.approve_device(service.waiting_device(credential), coordinator)
    assert service.approved_on(first.id) == 1 and service.approved_on(second.id) == 1


def test_two_coordinators_approving_at_once_never_pass_the_limit(app, make_user):
    app.config["TABLETS_PER_BUS"] = 2
    staff = make_user()
    ids = [service.register_device(f"Tablet {n}", staff)[0].id for n in range(4)]
    coordinators = [make_user("coordinator").id for _ in ids]

    def approve(device_id, user_id):
        def job():
            from busapp.models import User

            try:
                service.approve_device(db.session.get(Device, device_id), db.session.get(User, user_id))
            except service.Refused as exc:
                return exc.reason
            return "approved"
        return job

    outcomes = _run_at_once(app, [approve(d, u) for d, u in zip(ids, coordinators)])
    assert sorted(outcomes) == ["approved", "approved", service.BUS_FULL, service.BUS_FULL]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Device).where(
        Device.approved_at.is_not(None))) == 2
