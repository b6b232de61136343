"""An answer to Mitreden given on a phone without network waits in the outbox and is stored exactly once when the
network is back, under the key the form was shown with."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.core.extensions import db
from busapp.participation.models import Contribution, Idea
from tests.e2e.helpers import SAVED, controlled, count, go_offline, go_online

pytestmark = pytest.mark.browser


def test_an_answer_given_offline_is_stored_once_when_back_online(page, context, live_server, live_app):
    page.goto("/mitreden")
    page.locator("main h3 a").first.click()
    page.wait_for_selector("#mitreden-form")
    controlled(page)
    go_offline(context, live_server)
    page.locator("#mitreden-form input[type=radio]").first.check()
    page.fill("textarea[name=idea]", "Ohne Netz gesagt: mehr Bänke am Bus")
    key = page.locator("#mitreden-form input[name='idempotency_key']").input_value()
    page.locator("#mitreden-form button[type=submit]").click()

    expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
    item = page.locator(f".outbox__item[data-key='{key}']")
    expect(item).to_contain_text("Noch nicht gesendet")
    assert count(live_app, Contribution, Contribution.idempotency_key == key) == 0

    go_online(context, live_server)
    expect(item).to_contain_text("Gesendet")
    # An answer is no ticket: no "Show your ticket" button, but the private link to follow the idea.
    expect(item.locator("a")).to_have_count(1)
    expect(item.locator("a")).to_have_text("Ihre Idee verfolgen")
    assert "folgen=" in item.locator("a").get_attribute("href")
    page.reload()
    page.evaluate("Outbox.flush({force: true})")
    assert count(live_app, Contribution, Contribution.idempotency_key == key) == 1
    assert count(live_app, Idea, Idea.text == "Ohne Netz gesagt: mehr Bänke am Bus") == 1
