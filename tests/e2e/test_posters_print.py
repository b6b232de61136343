"""A week's posters print at once: one A4 sheet per stop (measured in the PDF Chromium prints), at 1280 x 800."""
from __future__ import annotations

import re

import pytest

from busapp.feedback import posters
from busapp.domain import town
from tests.e2e.helpers import axe_violations, describe, sign_in_as_coordinator

pytestmark = pytest.mark.browser


def test_a_weeks_posters_print_one_sheet_per_stop(office, live_app):
    with live_app.app_context():
        monday = posters.week_of(town.today())
        expected = len(posters.poster_stops(monday))
    assert expected >= 2, "the demo tour has several stops this week"
    page = office
    sign_in_as_coordinator(page)
    page.goto("/admin/posters")
    version, violations = axe_violations(page)
    assert not violations, describe(f"poster list (axe {version})", page.url, violations)
    with page.expect_navigation():
        page.locator("a[href^='/admin/posters/print']").click()
    assert page.locator("article.poster--stop").count() == expected
    version, violations = axe_violations(page)
    assert not violations, describe(f"week's posters (axe {version})", page.url, violations)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    # The page tree's root counts every sheet (its branches count theirs, so the largest count is the total).
    sheets = max(int(n) for n in re.findall(rb"/Count (\d+)", pdf))
    assert sheets == expected, f"{expected} posters printed on {sheets} sheets"
    width, height = (float(x) for x in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups())
    assert (round(width), round(height)) == (595, 842)
