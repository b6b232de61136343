"""Reflow (WCAG 1.4.10): every kind of page fits 320 CSS px and 200 % zoom without scrolling sideways.

Zoom in a browser shrinks the layout viewport in CSS pixels: 200 % on a 640 px wide window lays the page out at
320 CSS px, and 200 % on a 1280 px desktop window at 640 CSS px. So the pages are laid out at 320 px (which is also
the narrowest phone) and 640 px wide, with a device scale factor of 2 as a zoomed screen has. The 320 px layout is
checked in the same page loads as axe (tests/e2e/test_a11y.py for German and English, tests/e2e/test_languages.py
for the seven other languages); this module checks 640 px, and that the check finds what sticks out.
"""
from __future__ import annotations

from dataclasses import replace
import pytest

from tests.e2e.helpers import OVERFLOW, sideways
from tests.e2e.pagelist import LANGS, Target, all_public_targets, demo_site, open_target, role_targets, sign_in

WIDTHS = {640: "200 % zoom at 1280 px"}

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("layout")) as s:
        yield s


def _context(browser, site, lang: str, width: int):
    return browser.new_context(viewport={"width": width, "height": 720}, device_scale_factor=2,
                               base_url=site.url, locale=LANGS[lang])


def _overflows(page, targets: list[Target], width: int, lang: str) -> list[str]:
    problems = []
    for target in targets:
        open_target(page, target)
        found = sideways(page, f"{target.name} ({target.path}) at {width} px ({WIDTHS[width]}), {lang}",
                         f"{width}-{lang}-{target.name}")
        if found:
            problems.append(found)
    return problems


def test_overflow_check_can_fail(browser, site):
    """A planted over-wide element is found, so a real one would be too."""
    context = _context(browser, site, "de", 320)
    page = context.new_page()
    try:
        page.goto("/barrierefreiheit")
        # Set through the CSSOM, which the CSP allows (it forbids style attributes in markup).
        page.evaluate("""() => { const d = document.createElement('div'); d.className = 'planted';
                                 d.textContent = 'x'; d.style.minWidth = '900px';
                                 document.querySelector('main').append(d); }""")
        found = page.evaluate(OVERFLOW)
        assert found["scrollWidth"] > found["clientWidth"]
        assert any("div.planted" in c for c in found["culprits"]), found
    finally:
        context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("lang", sorted(LANGS))
def test_public_pages_reflow(browser, site, lang, width):
    context = _context(browser, site, lang, width)
    page = context.new_page()
    try:
        problems = _overflows(page, all_public_targets(site), width, lang)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("role", ["staff", "coordinator"])
@pytest.mark.parametrize("lang", sorted(LANGS))
def test_staff_and_coordinator_pages_reflow(browser, site, lang, role, width):
    context = _context(browser, site, lang, width)
    page = context.new_page()
    try:
        sign_in(page, role)
        targets = [Target(f"home signed in as {role}", "/")] + role_targets(site, role)
        problems = _overflows(page, [replace(t, role=None) for t in targets], width, lang)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
