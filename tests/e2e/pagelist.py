"""Every kind of page the app has, found from real data, for the accessibility and layout browser tests.

A "target" is one page state: a URL, optionally a role to sign in with first and an action to run in the browser
afterwards (sending a form empty, for example). Ids come from the live app's database, so the tests check the pages
people really see with the demo tour, not hand-made fixtures.
"""
from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from werkzeug.routing import AnyConverter

from busapp import create_app
from busapp.dev import demo
from busapp.core.config import database_url
from busapp.core.extensions import db
from busapp.models import Course, Role, Stop, StopStatus, User, Workshop, WorkshopStatus, utcnow
from busapp.participation.models import Consultation
from tests.conftest import _empty_tables
from tests.e2e.helpers import controlled
from tests.live import LiveServer

LANGS = {"de": "de-DE", "en": "en-GB"}
DEMO_LOGINS = {role: (email, password) for email, role, password in demo.DEMO_USERS}


@dataclass
class Target:
    """One page state to check."""

    name: str
    path: str
    role: str | None = None               # sign in as this demo account first
    action: Callable | None = None        # run in the browser after the page has loaded
    status: int = 200


@dataclass
class Site:
    app: object
    server: LiveServer
    ids: dict

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def demo_site(tmp_path):
    """The app with the demo tour on a live server, for a whole test module (the pages are only read)."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'site.sqlite3'}"
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url(url),
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        _empty_tables()
        demo.load()
        ids = _find_ids()
        db.session.remove()
    server = LiveServer(app).start()
    try:
        yield Site(app=app, server=server, ids=ids)
    finally:
        server.stop()
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def _find_ids() -> dict:
    """Ids of one page of each kind in the demo tour."""
    now = utcnow()
    public = Stop.status.in_((StopStatus.PUBLISHED, StopStatus.CANCELLED))
    upcoming = db.session.scalars(
        sa.select(Stop).join(Workshop).where(
            Stop.status == StopStatus.PUBLISHED, Stop.starts_at > now + timedelta(hours=1),
            Workshop.status == WorkshopStatus.PUBLISHED, Workshop.seats_taken < Workshop.capacity)
        .order_by(Stop.starts_at).limit(1)
    ).one()
    past = db.session.scalars(
        sa.select(Stop).where(public, Stop.status == StopStatus.PUBLISHED, Stop.ends_at < now)
        .order_by(Stop.starts_at.desc()).limit(1)
    ).one()
    cancelled = db.session.scalars(sa.select(Stop).where(Stop.status == StopStatus.CANCELLED).limit(1)).one()
    workshop = next(w for w in upcoming.workshops
                    if w.status == WorkshopStatus.PUBLISHED and w.seats_taken < w.capacity and w.starts_at > now)
    ids = {
        "district": upcoming.district.slug,
        "stop": upcoming.id,
        "past_stop": past.id,
        "cancelled_stop": cancelled.id,
        "workshop": workshop.id,
        "past_workshop": past.workshops[0].id,
    }
    ids["course"] = db.session.scalar(sa.select(Course.id).order_by(Course.id).limit(1))
    ids["place"] = upcoming.place_id
    ids["staff_user"] = db.session.scalar(sa.select(User.id).where(User.role == Role.STAFF).limit(1))
    ids["import_token"] = _checked_tour_file()
    ids["consultation"] = db.session.scalar(sa.select(Consultation.id).order_by(Consultation.id).limit(1))
    ids.update(_followed_ideas(ids["consultation"]))
    ids.update(_bookings(workshop, now))
    ids.update(_feedback_stop(now))
    return ids


def _book(workshop_id: int, party_size: int = 1):
    from busapp.booking import service

    return service.create(workshop_id, party_size=party_size, name="Erika Muster", contact="erika@example.org",
                          needs_note=None, idempotency_key=uuid.uuid4().hex, locale=BOOKED_IN).booking


def _bookings(workshop: Workshop, now) -> dict:
    """A ticket, a waiting-list place and a cancelled booking, made the way the booking form makes them."""
    from busapp.booking import service

    ticket = _book(workshop.id)
    cancelled = _book(workshop.id)
    service.cancel(cancelled)
    full = db.session.scalars(
        sa.select(Workshop).join(Stop).where(
            Stop.status == StopStatus.PUBLISHED, Workshop.status == WorkshopStatus.PUBLISHED,
            Workshop.starts_at > now, Workshop.id != workshop.id)
        .order_by(Workshop.starts_at).limit(1)
    ).one()
    while (free := full.capacity - db.session.scalar(sa.select(Workshop.seats_taken).where(Workshop.id == full.id))):
        _book(full.id, min(4, free))
    waiting = _book(full.id)
    assert waiting.status.value == "waiting"
    return {"ticket": ticket.manage_token, "cancelled_ticket": cancelled.manage_token,
            "waiting": waiting.manage_token, "full_workshop": full.id}


def _followed_ideas(consultation_id: int) -> dict:
    """Private links to two ideas given the way the form gives them: one waiting for the team, one merged into a
    published idea with the city's answer."""
    from busapp.participation import service
    from busapp.participation.models import Idea

    consultation = db.session.get(Consultation, consultation_id)
    tokens = {}
    for name, text in (("followed_idea", "Mehr Sitzbänke an der Halte-Stelle"), ("merged_idea", "WLAN im Bus!")):
        key = f"pagelist-{name}"
        service.save(consultation, service.Submission(idea=text), key=key, channel=service.Channel.PAPER)
        tokens[name] = service.follow_token(key)
    merged = service.followed(tokens["merged_idea"])
    kept = db.session.scalars(sa.select(Idea).where(Idea.consultation_id == consultation_id, Idea.answer != "",
                                                    Idea.moderation == service.Moderation.PUBLISHED)).first()
    service.merge(merged, kept)
    return tokens


def _feedback_stop(now) -> dict:
    """The latest stop whose feedback form is open, and one of its workshops."""
    from busapp.feedback import rules

    started = db.session.scalars(
        sa.select(Stop).where(Stop.status == StopStatus.PUBLISHED, Stop.starts_at <= now)
        .order_by(Stop.starts_at.desc())
    )
    stop = next(s for s in started if rules.closed_reason(s, now) is None)
    return {"feedback_stop": stop.id, "feedback_workshop": rules.workshops_for(stop)[0].id}


def submit(button: str, expect: str, check: str | None = None, server_checks: bool = False) -> Callable:
    """An action: optionally tick `check`, press `button`, and wait until `expect` shows (the page's new state,
    whether it came as a new page or as an htmx swap).

    server_checks turns the browser's own required-field check off for that form, so the server's messages are
    what is shown, as in browsers that do not check forms themselves."""

    def act(page) -> None:
        if check:
            page.locator(check).check()
        if server_checks:
            page.locator(button).first.evaluate("b => { b.form.noValidate = true; }")
        page.locator(button).first.click()
        page.wait_for_selector(expect, state="attached")
        page.wait_for_load_state("load")

    return act


def saved_copy_offline(page) -> None:
    """An action: let the service worker keep this page, then reload it without network: the saved copy."""
    controlled(page)
    page.reload()  # now through the worker, which keeps a copy
    path = page.evaluate("location.pathname + location.search")
    # wait_for_function would take the returned promise itself as true, so poll with evaluate (which awaits).
    deadline = time.monotonic() + 15
    while not page.evaluate("async (path) => !!(await caches.match(path))", path):
        assert time.monotonic() < deadline, f"the service worker did not keep {path}"
        time.sleep(0.1)
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector(".pwa-copy", state="attached")


def booking_kept_offline(page) -> None:
    """An action: without network, send the booking form: it is kept in the outbox on the phone."""
    controlled(page)
    page.context.set_offline(True)
    page.locator("input[name='name']").fill("Emine")
    page.locator("input[name='consent']").check()
    page.locator(BOOKING_SUBMIT).click()
    page.wait_for_selector(".pwa-notice", state="attached")


SIGNIN_SUBMIT = "main form [type=submit]"
BOOKING_SUBMIT = "form.booking-form [type=submit]"
FEEDBACK_SUBMIT = "form#feedback [type=submit]"


def public_targets(site: Site) -> list[Target]:
    """The pages anyone can open, each in the state a visitor meets it."""
    ids = site.ids
    return [
        Target("home", "/"),
        Target("home filtered by district", f"/?district={ids['district']}"),
        Target("district", f"/d/{ids['district']}"),
        Target("stop", f"/s/{ids['stop']}"),
        Target("past stop", f"/s/{ids['past_stop']}"),
        Target("cancelled stop", f"/s/{ids['cancelled_stop']}"),
        Target("page not found", "/no-such-page", status=404),
        Target("unknown stop", "/s/999999", status=404),
        Target("accessibility statement", "/barrierefreiheit"),
        Target("my bookings on this phone", "/my-bookings"),
        Target("find my booking", "/find"),
        Target("offline page", "/offline"),
        Target("saved copy of a stop offline", f"/s/{ids['stop']}", action=saved_copy_offline),
        Target("staff sign-in", "/signin"),
        Target("staff sign-in with errors", "/signin", action=submit(SIGNIN_SUBMIT, "#error-summary")),
        Target("sign-out page, not signed in", "/signout"),
    ]


def booking_targets(site: Site) -> list[Target]:
    """The booking form in each of its states, and the private pages behind a manage link."""
    ids = site.ids
    form = f"/workshops/{ids['workshop']}/book"
    return [
        Target("booking form", form),
        Target("booking form with errors", form, action=submit(BOOKING_SUBMIT, "#error-summary")),
        Target("booking form, workshop full", f"/workshops/{ids['full_workshop']}/book"),
        Target("booking form, workshop over", f"/workshops/{ids['past_workshop']}/book"),
        Target("ticket", f"/t/{ids['ticket']}"),
        Target("waiting-list place", f"/t/{ids['waiting']}"),
        Target("cancelled booking", f"/t/{ids['cancelled_ticket']}"),
        Target("cancel a booking", f"/t/{ids['ticket']}/cancel"),
        Target("delete my booking data", f"/t/{ids['ticket']}/forget"),
        Target("booking privacy notice", "/booking/privacy"),
        Target("booking kept offline in the outbox", form, action=booking_kept_offline),
    ]


def feedback_targets(site: Site) -> list[Target]:
    """The bus's permanent code, the form in each of its states and the thank-you."""
    ids = site.ids
    form = f"/f/{ids['feedback_stop']}"
    return [
        Target("bus feedback code", "/f"),
        Target("feedback form", form),
        Target("feedback form for a workshop", f"/f/w/{ids['feedback_workshop']}"),
        Target("feedback form with errors", form,
               action=submit(FEEDBACK_SUBMIT, "#error-summary", server_checks=True)),
        Target("feedback thank-you", form, action=submit(FEEDBACK_SUBMIT, "#thanks", check="input[name=rating][value='4']")),
        Target("feedback not open yet", f"/f/{ids['stop']}"),
    ]


MITREDEN_SUBMIT = "#mitreden-form [type=submit]"


def mitreden_targets(site: Site) -> list[Target]:
    """Mitreden: the list, the form in its states, the thank-you with the private link, following an idea (waiting,
    merged), the privacy notice."""
    ids = site.ids
    form = f"/mitreden/{ids['consultation']}"
    return [
        Target("have your say", "/mitreden"),
        Target("have your say form", form),
        Target("have your say form with errors", form, action=submit(MITREDEN_SUBMIT, "#error-summary")),
        Target("have your say thank-you with the private link",
               f"{form}/danke?folgen={ids['followed_idea']}"),
        Target("following one's idea", f"/mitreden/idee/{ids['followed_idea']}"),
        Target("following a merged idea", f"/mitreden/idee/{ids['merged_idea']}"),
        Target("have your say privacy notice", "/mitreden/datenschutz"),
    ]


def all_public_targets(site: Site, lang: str | None = None) -> list[Target]:
    """Every public page kind. The demo's tickets were booked in German and open in German unless the visitor asks
    for another language, so in another language the pages behind a manage link are opened with ?lang=."""
    targets = public_targets(site) + booking_targets(site) + feedback_targets(site) + mitreden_targets(site)
    if lang and lang != BOOKED_IN:
        targets = [replace(t, path=f"{t.path}?lang={lang}") if t.path.startswith("/t/") else t for t in targets]
    return targets


BOOKED_IN = "de"  # the language _book() books the demo's tickets in


def role_targets(site: Site, role: str) -> list[Target]:
    """Every GET page behind role_required that this role may open, with arguments filled from the demo tour;
    for staff also the "no access" page of one coordinator page."""
    from busapp.models import Role as R

    targets = [Target(f"sign-out page, signed in as {role}", "/signout", role=role)]
    forbidden = []
    with site.app.test_request_context():
        for rule in site.app.url_map.iter_rules():
            view = site.app.view_functions[rule.endpoint]
            roles = getattr(view, "required_roles", None)
            if roles is None or "GET" not in rule.methods:
                continue
            forbidden_here = role == Role.STAFF.value and R.STAFF not in roles
            if FILE_ROUTE.search(rule.rule):
                continue  # downloads, not pages
            choices: list[dict] = [{}]
            for arg in sorted(rule.arguments - set(rule.defaults or {})):  # a default fills itself
                converter = rule._converters.get(arg)
                if isinstance(converter, AnyConverter):
                    options = sorted(converter.items)  # one page per choice
                elif arg in ROUTE_ARGS:
                    options = [ROUTE_ARGS[arg](site.ids)]
                else:
                    raise AssertionError(
                        f"{rule.rule} takes <{arg}>: add how to fill it to ROUTE_ARGS in tests/e2e/pagelist.py, "
                        "so that its page is checked too")
                choices = [dict(c, **{arg: o}) for c in choices for o in options]
            for values in choices:
                path = rule.build(values, append_unknown=False)[1]
                if forbidden_here:
                    forbidden.append(Target(f"no access for {role}: {rule.endpoint}", path, role=role, status=403))
                else:
                    targets.append(Target(f"{role} {rule.endpoint}", path, role=role))
    return sorted(targets, key=lambda t: t.path) + sorted(forbidden, key=lambda t: t.path)[:1]


FILE_ROUTE = re.compile(r"\.(csv|ics|svg|json|js|pdf|png|webmanifest)$")


def _checked_tour_file() -> str:
    """A council's published timetable, checked and kept for the demo coordinator, as after "check the file": its
    preview page (/admin/import/<token>) with the file's warnings."""
    from busapp.planning import tourcsv

    coordinator = db.session.scalars(sa.select(User).where(User.email == DEMO_LOGINS["coordinator"][0])).one()
    data = (Path(__file__).resolve().parent.parent / "data" / "mobile-libraries" / "york.csv").read_bytes()
    return tourcsv.stage(data, coordinator)


ROUTE_ARGS: dict[str, Callable[[dict], object]] = {
    "token": lambda ids: ids["import_token"],
    "consultation_id": lambda ids: ids["consultation"],
    "stop_id": lambda ids: ids["feedback_stop"],
    "workshop_id": lambda ids: ids["workshop"],
    "slug": lambda ids: ids["district"],
    "course_id": lambda ids: ids["course"],
    "place_id": lambda ids: ids["place"],
    "user_id": lambda ids: ids["staff_user"],
}


def sign_in(page, role: str) -> None:
    """Sign in with the demo account of this role through the real form."""
    email, password = DEMO_LOGINS[role]
    page.goto("/signin")
    page.fill("input[type=email]", email)
    page.fill("input[type=password]", password)
    with page.expect_navigation():
        page.locator("main form [type=submit]").first.click()
    assert "/signin" not in page.url, f"sign-in as {role} failed: {page.url}"


def open_target(page, target: Target):
    """Open the page (signed in when needed), run its action, and check the answer's status."""
    page.context.set_offline(False)  # an earlier target's action may have gone offline
    if target.role:
        sign_in(page, target.role)
    response = page.goto(target.path)
    assert response is not None and response.status == target.status, (
        f"{target.name}: {target.path} answered {response.status if response else 'nothing'}, "
        f"expected {target.status}")
    if target.action:
        target.action(page)
    page.wait_for_load_state("load")
    return response
