"""'Repeat this stop' at 1280 x 800: the total of stops follows the typing, before the dates are shown."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.core.extensions import db
from busapp.models import Stop, StopStatus, utcnow
from tests.e2e.helpers import axe_violations, describe, sign_in_as_coordinator

pytestmark = pytest.mark.browser


def test_the_total_follows_the_typing(office, live_app):
    with live_app.app_context():
        stop_id = db.session.scalar(sa.select(Stop.id).where(Stop.status == StopStatus.PUBLISHED,
                                                             Stop.starts_at > utcnow()).order_by(Stop.starts_at))
    page = office
    sign_in_as_coordinator(page)
    page.goto(f"/admin/stops/{stop_id}/repeat")
    total = page.locator("#repeat-total")
    expect(total).to_contain_text("wie viele neue Halte")
    page.locator("#count").fill("4")
    expect(total).to_have_text("Das macht 5 Halte: diesen und 4 neue.")
    page.locator("input[name=rule][value=weekly]").check()
    page.locator("#count").fill("1")
    expect(total).to_have_text("Das macht 2 Halte: diesen und 1 neuen.")
    version, violations = axe_violations(page)
    assert not violations, describe(f"repeat form (axe {version})", page.url, violations)
