"""The coordinators' pages on office screens (1280 x 800 and 1024 x 768), measured in a real browser.

- The menu takes at most one line at 1280 px and at most two at 1024 px (it took four, 255 px, and pushed the week
  to y = 465 at 1024 x 768).
- No word of the week view or the report tables is broken inside itself ("Familienzent rum", "Nam e"): each word's
  letters lie on one line. Where a week's names are too long for the screen, the week scrolls sideways in its own box
  and the page does not.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from busapp.core.extensions import db
from busapp.models import District, Place, Stop, StopStatus, utcnow
from busapp.planning import service
from tests.e2e.helpers import OVERFLOW, sign_in_as_coordinator

pytestmark = pytest.mark.browser

SIZES = {1280: 800, 1024: 768}
MAX_MENU_LINES = {1280: 1, 1024: 2}

# The lines a menu's entries stand on: their distinct tops (entries of one line share a top within a few px).
MENU_LINES = """() => {
  const tops = [];
  for (const li of document.querySelectorAll('nav.site-nav > ul > li')) {
    const top = Math.round(li.getBoundingClientRect().top);
    if (!tops.some((t) => Math.abs(t - top) <= 4)) tops.push(top);
  }
  const nav = document.querySelector('nav.site-nav').getBoundingClientRect();
  return {lines: tops.length, height: Math.round(nav.height), bottom: Math.round(nav.bottom)};
}"""

# Every word under the selectors whose letters lie on more than one line. A word ends at a space, or after a hyphen,
# dash, slash or soft hyphen (where a line may rightly end). Visually hidden text is left out.
BROKEN_WORDS = """(selector) => {
  const found = [];
  const range = document.createRange();
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.closest('.visually-hidden, [hidden]')) continue;
      const pattern = /[^\\s\\-\\u2013\\u2014\\/\\u00ad]+/g;
      let match;
      while ((match = pattern.exec(node.data))) {
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = [];
        for (const rect of range.getClientRects()) {
          if (rect.width < 1) continue;
          if (!tops.some((t) => Math.abs(t - rect.top) < 3)) tops.push(rect.top);
        }
        if (tops.length > 1) found.push(`"${match[0]}" in ${parent.tagName.toLowerCase()}.${parent.className}`);
      }
    }
  }
  return found;
}"""

CHECKED = ".week, .report-table"


def _office(browser, live_server, width: int, locale: str = "de-DE"):
    context = browser.new_context(viewport={"width": width, "height": SIZES[width]}, base_url=live_server.url,
                                  locale=locale)
    page = context.new_page()
    sign_in_as_coordinator(page)
    return context, page


@pytest.fixture
def long_name_week(live_app) -> str:
    """A week, three weeks ahead, that has a stop at a place with a very long one-word name besides the demo's."""
    with live_app.app_context():
        district = db.session.query(District).order_by(District.number).first()
        place = Place(district=district, name="Seniorenbegegnungsstättenverwaltungsgebäude Nord",
                      address="Langer Weg 1", postcode="23560")
        day = service.local_day(utcnow()) + timedelta(weeks=3)
        start = service.local(day, service.time(9))
        db.session.add(Stop(district=district, place=place, starts_at=start, ends_at=start + timedelta(minutes=50),
                            status=StopStatus.PUBLISHED))
        db.session.commit()
        return service.week_of(day).isoformat()


def test_the_word_check_can_fail(browser, live_server):
    """A day squeezed narrower than its longest word, as the week was, is reported: the check would see it."""
    context, page = _office(browser, live_server, 1024)
    try:
        page.goto("/admin")
        # Set through the CSSOM, which the CSP allows (it forbids style attributes in markup).
        page.evaluate("""() => { const day = document.querySelector('.week .week__day');
                                 day.style.overflowWrap = 'anywhere'; day.style.inlineSize = '4em';
                                 const h = day.querySelector('h2'); h.style.overflowWrap = 'anywhere';
                                 h.textContent = 'Familienzentrum'; }""")
        assert any("Familienzentrum" in w for w in page.evaluate(BROKEN_WORDS, ".week")), "a squeezed word passed"
    finally:
        context.close()


@pytest.mark.parametrize("width", sorted(SIZES))
@pytest.mark.parametrize("locale", ["de-DE", "en-GB"])
def test_the_menu_fits_one_line_at_1280_and_two_at_1024(browser, live_server, width, locale):
    context, page = _office(browser, live_server, width, locale)
    try:
        for path in ("/admin", "/admin/reports", "/admin/audit", "/admin/search?q=Moisling"):
            page.goto(path)
            menu = page.evaluate(MENU_LINES)
            print(f"{width} px {locale} {path}: menu {menu['lines']} line(s), {menu['height']} px high, "
                  f"ends at y={menu['bottom']}")
            assert menu["lines"] <= MAX_MENU_LINES[width], f"{path} at {width} px ({locale}): {menu}"
        page.goto("/admin")
        week_top = page.evaluate("Math.round(document.querySelector('.week').getBoundingClientRect().top)")
        print(f"{width} px {locale}: the week starts at y={week_top}")
        assert week_top < SIZES[width] / 2, f"the week starts at y={week_top}, below the middle of the screen"
    finally:
        context.close()


@pytest.mark.parametrize("width", sorted(SIZES))
def test_no_word_is_broken_inside_itself(browser, live_server, long_name_week, width):
    context, page = _office(browser, live_server, width)
    try:
        for path in ("/admin", f"/admin?week={long_name_week}", "/admin/reports?start=2000-01-01&end=2099-12-31"):
            page.goto(path)
            assert page.locator(CHECKED).count(), f"{path}: nothing to check"
            broken = page.evaluate(BROKEN_WORDS, CHECKED)
            assert not broken, f"{path} at {width} px breaks words inside themselves: {broken[:10]}"
            overflow = page.evaluate(OVERFLOW)
            assert overflow["scrollWidth"] <= overflow["clientWidth"], f"{path} at {width} px: {overflow}"
        # The week with the very long name scrolls in its own box, which the keyboard can reach.
        page.goto(f"/admin?week={long_name_week}")
        assert page.get_by_text("Seniorenbegegnungsstättenverwaltungsgebäude").count() == 1
        region = page.locator(".week-wrap")
        assert region.get_attribute("tabindex") == "0" and region.get_attribute("role") == "region"
    finally:
        context.close()
