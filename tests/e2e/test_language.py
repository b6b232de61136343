"""The header's language picker in a browser: plain links that keep the visitor on the page they are on."""
from __future__ import annotations

import re

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import District, Stop, StopStatus, utcnow


def _district_with_stops(live_app) -> str:
    with live_app.app_context():
        return db.session.scalar(
            sa.select(District.slug).join(Stop).where(Stop.status == StopStatus.PUBLISHED, Stop.ends_at > utcnow())
            .order_by(District.number).limit(1)
        )


def test_first_visit_sets_no_cookie(page):
    page.goto("/")
    assert page.context.cookies() == []


def test_switch_after_an_htmx_filter_keeps_the_filtered_list(page, live_app):
    slug = _district_with_stops(live_app)
    page.goto("/")
    page.select_option("#district-filter", slug)
    with page.expect_response(lambda r: "district=" in r.url and r.request.headers.get("hx-request") == "true"):
        page.click(".district-filter button[type=submit]")
    page.wait_for_url(re.compile(rf"/\?district={slug}$"))
    # The list was swapped in place (no page load), yet the switch now carries the filter along.
    assert f"district={slug}" in page.locator(".lang-picker a[data-lang-switch=en]").get_attribute("href")
    page.click(".lang-picker summary")
    with page.expect_navigation():
        page.click(".lang-picker a[data-lang-switch=en]")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.url.endswith(f"/?district={slug}")
    assert page.locator("#district-filter").input_value() == slug
    assert [c["name"] for c in page.context.cookies()] == ["session"]
