"""The facts lists (course, when, where ...) on the pages a resident keeps open on a phone, in every language.

A term and its answer are readable when the answer gets at least 60 % of the list's width beside its term, or when
the term stands above its answer. Measured on the ticket, the booking form, the stop page and "my bookings" in all
nine languages at 360, 375 and 412 px: no sideways scroll, no answer squeezed, nothing cut off. axe cannot see this
(a 0 px wide answer is still "there"), so the widths are measured. Screenshots of the ticket in Russian, Leichte
Sprache and Arabic are kept in test-artifacts/facts/ for people to look at.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.pagelist import demo_site
from tests.e2e.helpers import OVERFLOW

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["de", "en", "tr", "uk", "ar", "pl", "ru", "fa", "de-x-ls"]
WIDTHS = [360, 375, 412]
SCREENSHOTS = {"ru", "de-x-ls", "ar"}

# Every term/answer pair of every visible facts list: the answer beside its term must be at least 60 % of the list's
# width; an answer below its term may be any width. Also any box whose text is wider than the box (cut off or
# spilling) inside a facts list.
MEASURE = """() => {
  const problems = [];
  let pairs = 0;
  for (const dl of document.querySelectorAll('dl.facts')) {
    const box = dl.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    for (const dd of dl.querySelectorAll(':scope > dd, :scope > div > dd')) {
      let dt = dd.previousElementSibling;
      while (dt && dt.tagName !== 'DT') dt = dt.previousElementSibling;
      if (!dt) continue;
      pairs++;
      const a = dd.getBoundingClientRect(), t = dt.getBoundingClientRect();
      const below = a.top >= t.bottom - 1;
      const label = dt.textContent.trim().slice(0, 30);
      if (!below && a.width < 0.6 * box.width) {
        problems.push(`"${label}": answer ${Math.round(a.width)} px beside its term in a ${Math.round(box.width)} px list`);
      }
      for (const el of [dt, dd]) {
        if (el.scrollWidth > el.clientWidth + 1) {
          problems.push(`"${label}": ${el.tagName.toLowerCase()} text ${el.scrollWidth} px in a ${el.clientWidth} px box`);
        }
      }
    }
  }
  return {pairs, problems};
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("facts")) as s:
        yield s


def _targets(site) -> list[tuple[str, str, int]]:
    """(name, path, facts pairs expected at least): the pages, each in the language given by ?lang=."""
    ids = site.ids
    return [
        ("ticket", f"/t/{ids['ticket']}", 6),
        ("booking form", f"/workshops/{ids['workshop']}/book", 5),
        ("stop", f"/s/{ids['stop']}", 4),
        ("my bookings", "/my-bookings", 0),
    ]


def _check(page, name: str, least: int) -> list[str]:
    found = page.evaluate(OVERFLOW)
    measured = page.evaluate(MEASURE)
    problems = list(measured["problems"])
    if found["scrollWidth"] > found["clientWidth"]:
        problems.append(f"page {found['scrollWidth']} px wide in a {found['clientWidth']} px window: "
                        + "; ".join(found["culprits"]))
    if measured["pairs"] < least:
        problems.append(f"only {measured['pairs']} term/answer pairs found, expected at least {least}")
    return [f"{name}: {p}" for p in problems]


def _keep_ticket(page, path: str) -> None:
    """Open the ticket under the service worker so that "my bookings" on this phone lists it."""
    page.goto(path)
    deadline = time.monotonic() + 45
    while True:
        try:
            if page.evaluate("async (p) => navigator.serviceWorker.controller !== null && !!(await caches.match(p))",
                             path):
                return
            if page.evaluate("navigator.serviceWorker.controller !== null"):
                page.reload()  # now through the worker, which keeps a copy
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc):  # the page reloads itself when the worker takes over
                raise
        assert time.monotonic() < deadline, f"the service worker did not keep {path}"
        time.sleep(0.2)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_facts_readable_on_phones_in_every_language(browser, site, lang):
    locale = "de-DE" if lang == "de-x-ls" else lang
    problems = []
    shots = ROOT / "test-artifacts" / "facts"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 780}, base_url=site.url, locale=locale,
                                  service_workers="allow")
    page = context.new_page()
    try:
        _keep_ticket(page, f"/t/{site.ids['ticket']}?lang={lang}")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 780})
            for name, path, least in _targets(site):
                response = page.goto(f"{path}?lang={lang}")
                assert response is not None and response.status == 200, (name, path)
                if name == "my bookings":
                    page.wait_for_selector("#my-bookings .my-bookings__link")
                problems += [f"{lang} at {width} px, {p}" for p in _check(page, name, least)]
                if lang in SCREENSHOTS and name in ("ticket", "booking form", "stop") and width == 360:
                    page.screenshot(path=str(shots / f"{lang}-{width}-{name.replace(' ', '-')}.png"), full_page=True)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_measure_finds_a_squeezed_answer(browser, site):
    """The rule the ticket had before (terms as wide as the longest term, side by side at 360 px) is caught."""
    context = browser.new_context(viewport={"width": 360, "height": 780}, base_url=site.url, locale="ru")
    page = context.new_page()
    try:
        page.goto(f"/t/{site.ids['ticket']}?lang=de-x-ls")
        page.evaluate("""() => { for (const dl of document.querySelectorAll('dl.facts')) {
                                   dl.style.gridTemplateColumns = 'minmax(0, max-content) minmax(0, 1fr)'; } }""")
        measured = page.evaluate(MEASURE)
    finally:
        context.close()
    assert any("beside its term" in p for p in measured["problems"]), measured
