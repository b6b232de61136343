"""Every kind of page the app has, found from real data, for the accessibility and layout browser tests.

A "target" is one page state: a URL, optionally a role to sign in with first and an action to run in the browser
afterwards (sending a form empty, for example). Ids come from the live app's database, so the tests check the pages
people really see with the demo tour, not hand-made fixtures.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from werkzeug.routing import AnyConverter

from busapp import create_app, demo
from busapp.config import database_url
from busapp.extensions import db
from busapp.models import Role, Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from tests.conftest import _empty_tables
from tests.live import LiveServer

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
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
    return {
        "district": upcoming.district.slug,
        "stop": upcoming.id,
        "past_stop": past.id,
        "cancelled_stop": cancelled.id,
        "workshop": workshop.id,
    }


def submit_first_form(page, selector: str = "main form[method=post] [type=submit]") -> None:
    """Send the page's form as it is (empty): the answer is the form with its error messages."""
    with page.expect_navigation():
        page.locator(selector).first.click()


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
        Target("staff sign-in", "/signin"),
        Target("staff sign-in with errors", "/signin", action=submit_first_form),
    ]


def role_targets(site: Site, role: str) -> list[Target]:
    """Every GET page behind role_required that this role may open, with arguments filled from the demo tour."""
    from busapp.models import Role as R

    targets = []
    with site.app.test_request_context():
        for rule in site.app.url_map.iter_rules():
            view = site.app.view_functions[rule.endpoint]
            roles = getattr(view, "required_roles", None)
            if roles is None or "GET" not in rule.methods:
                continue
            if role == Role.STAFF.value and R.STAFF not in roles:
                continue  # a coordinator page: staff get 403, which the access tests check
            if FILE_ROUTE.search(rule.rule):
                continue  # downloads, not pages
            choices: list[dict] = [{}]
            for arg in sorted(rule.arguments):
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
                targets.append(Target(f"{role} {rule.endpoint}", path, role=role))
    return sorted(targets, key=lambda t: t.path)


FILE_ROUTE = re.compile(r"\.(csv|ics|svg|json|js|pdf|png|webmanifest)$")


ROUTE_ARGS: dict[str, Callable[[dict], object]] = {
    "stop_id": lambda ids: ids["stop"],
    "workshop_id": lambda ids: ids["workshop"],
    "slug": lambda ids: ids["district"],
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
