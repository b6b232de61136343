"""axe-core in Chromium on every kind of page, in German and English: no WCAG 2.0/2.1/2.2 A or AA violations, and
in the same page load no sideways scrolling at 320 CSS px (reflow, WCAG 1.4.10: the narrowest phone, and 200 % zoom
of a 640 px window; tests/e2e/test_layout.py checks 200 % zoom of a desktop window).

axe is injected with page.evaluate() of the vendored file's text. The app's Content-Security-Policy allows only
scripts from 'self', so a <script> tag with the file's content (what page.add_script_tag does) would be blocked;
script evaluated through the DevTools protocol is not subject to the page's CSP. That way the pages are checked with
their real CSP in force (no bypass_csp), as visitors get them.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.e2e.helpers import NARROW, axe_violations, describe, sideways
from tests.e2e.pagelist import (
    LANGS, Target, all_public_targets, demo_site, open_target, role_targets, sign_in,
)

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("a11y")) as s:
        yield s


@pytest.fixture(params=sorted(LANGS))
def lang(request):
    return request.param


@pytest.fixture
def lang_page(browser, site, lang):
    """The narrowest phone's page, drawn at twice the pixels as a zoomed screen is, whose browser asks for `lang`
    (the app picks the language from Accept-Language)."""
    context = browser.new_context(viewport=NARROW, device_scale_factor=2, base_url=site.url, locale=LANGS[lang])
    page = context.new_page()
    yield page
    context.close()


def check(page, target, lang) -> list[str]:
    """Open one target and return a description of its axe violations and of what sticks out sideways (empty when
    there is nothing)."""
    open_target(page, target)
    assert page.evaluate("document.documentElement.lang") == lang, f"{target.name}: <html lang> is not {lang}"
    version, violations = axe_violations(page)
    assert version == "4.14.1"
    problems = [describe(target.name, target.path, violations)] if violations else []
    overflow = sideways(page, f"{target.name} ({target.path}) at 320 px, {lang}", f"320-{lang}-{target.name}")
    return problems + ([overflow] if overflow else [])


def test_axe_runs_and_finds_a_planted_violation(lang_page, site):
    """The check can fail: an image without alt text and an unlabelled field are reported."""
    lang_page.goto("/barrierefreiheit")
    lang_page.evaluate("""() => {
      const main = document.querySelector('main');
      const img = document.createElement('img'); img.src = '/static/icons/bus.svg'; main.append(img);
      const input = document.createElement('input'); input.type = 'text'; main.append(input);
    }""")
    _, violations = axe_violations(lang_page)
    assert {"image-alt", "label"} <= {v["id"] for v in violations}, json.dumps(violations, indent=1)


PUBLIC = [
    "home", "home filtered by district", "district", "stop", "past stop", "cancelled stop", "page not found",
    "unknown stop", "accessibility statement", "my bookings on this phone", "find my booking", "offline page", "saved copy of a stop offline", "staff sign-in", "staff sign-in with errors",
    "sign-out page, not signed in",
    # booking
    "booking form", "booking form with errors", "booking form, workshop full", "booking form, workshop over",
    "ticket", "waiting-list place", "cancelled booking", "cancel a booking", "delete my booking data",
    "booking privacy notice", "booking kept offline in the outbox",
    # feedback
    "bus feedback code", "feedback form", "feedback form for a workshop", "feedback form with errors",
    "feedback thank-you", "feedback not open yet",
    # Mitreden
    "have your say", "have your say form", "have your say form with errors",
    "have your say thank-you with the private link", "following one's idea", "following a merged idea",
    "have your say privacy notice",
]


def test_public_pages_have_no_violations(lang_page, site, lang):
    """Every public page kind in each of its states, one after another in one browser profile (as a visitor goes
    from page to page, and as tests/e2e/test_languages.py checks the other languages); every violation is listed."""
    targets = all_public_targets(site, lang)
    assert {t.name for t in targets} == set(PUBLIC), "every public page kind is listed in PUBLIC"
    problems = []
    for target in targets:
        problems += check(lang_page, target, lang)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("role", ["staff", "coordinator"])
def test_staff_and_coordinator_pages_have_no_violations(lang_page, site, lang, role):
    """Every page behind role_required, found from the URL map, signed in with the demo account."""
    sign_in(lang_page, role)
    # The public home page signed in (its navigation changes), then every protected page.
    targets = [Target(f"home signed in as {role}", "/")] + role_targets(site, role)
    problems = []
    for target in targets:
        problems += check(lang_page, replace(target, role=None), lang)
    assert not problems, "\n\n".join(problems)
