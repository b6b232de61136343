"""The demo tour follows the planning rules, so a coordinator can edit any demo workshop as it is."""
from __future__ import annotations

import sqlalchemy as sa

from busapp.dev import demo
from busapp.core.extensions import db
from busapp.models import Workshop, WorkshopStatus
from busapp.planning import service


def draft_of(workshop: Workshop) -> service.WorkshopDraft:
    return service.WorkshopDraft(
        title=workshop.title, topic=workshop.topic, starts_at=workshop.starts_at,
        duration_minutes=workshop.duration_minutes, capacity=workshop.capacity,
        description=workshop.description or "", language=workshop.language, audience=workshop.audience,
        accessibility_notes=workshop.accessibility_notes or "", parallel=workshop.parallel)


def check_every_workshop(app) -> int:
    checked = 0
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for workshop in db.session.scalars(sa.select(Workshop).where(Workshop.status != WorkshopStatus.CANCELLED)):
            assert service.check_workshop(workshop.stop, draft_of(workshop), workshop) == {}, (
                workshop.title, workshop.stop.starts_at, workshop.starts_at)
            checked += 1
    return checked


def test_every_demo_workshop_passes_the_planning_rules_unchanged(app):
    demo.load(with_users=False)
    counts = demo.load(with_users=False)  # loading twice replaces the tour, it does not add to it
    assert check_every_workshop(app) == counts["workshops"] > 0


def test_every_workshop_of_the_large_demo_passes_the_planning_rules(app):
    demo.load_large(40, with_users=False)
    assert check_every_workshop(app) == 80
