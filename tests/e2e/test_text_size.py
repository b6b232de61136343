"""Large text (WCAG 1.4.4) and tap targets (WCAG 2.5.5) on a 360 px phone.

200 % text is the phone's own setting, not zoom: the browser's default font size is doubled (through the DevTools
protocol, as Android's "font size" does), the window stays 360 CSS px wide. Then no page scrolls sideways, and the
site name in the header is neither cut off nor broken in the middle of a syllable. Every primary action and every
link that stands alone measures at least 44 x 44 CSS px.
"""
from __future__ import annotations

import pytest

from tests.e2e.pagelist import LANGS, Target, demo_site, open_target
from tests.e2e.helpers import OVERFLOW

# The pages a resident meets on the way to a seat and back to the ticket.
PAGES = ("home", "stop", "booking form", "ticket", "my bookings on this phone", "find my booking",
         "accessibility statement")

TARGETS = """() => {
  const small = [];
  const standalone = (el) => {
    const parent = el.parentElement;
    return parent && ['P', 'LI', 'DD'].includes(parent.tagName) &&
      parent.textContent.trim() === el.textContent.trim();
  };
  for (const el of document.querySelectorAll('main a[href], main button, .site-nav a, .site-nav button, .site-footer a')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || el.hidden) continue;
    if (el.closest('.visually-hidden, [hidden]')) continue;
    const primary = el.matches('button, .button, .site-nav a, .site-footer a');
    if (!primary && !standalone(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.width < 43.5 || r.height < 43.5) {
      small.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""

BRAND = """() => {
  const name = document.querySelector('.brand__name');
  const r = name.getBoundingClientRect();
  const words = [];
  // Where the browser broke the name: the text of each line box.
  const range = document.createRange();
  const text = name.firstChild;
  let line = '', top = null;
  for (let i = 0; i < text.length; i++) {
    if (text.data[i] === '\u00ad') continue;  // a soft hyphen: shown only where the line breaks
    range.setStart(text, i); range.setEnd(text, i + 1);
    const rects = range.getClientRects();
    const rect = rects[rects.length - 1];
    if (!rect || rect.width === 0) { line += text.data[i]; continue; }
    if (top !== null && rect.top - top > 2) { words.push(line); line = ''; }
    top = rect.top; line += text.data[i];
  }
  words.push(line);
  return {right: r.right, width: document.documentElement.clientWidth, lines: words.map((w) => w.replace(/\\u00ad/g, ''))};
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("textsize")) as s:
        yield s


def targets(site) -> list[Target]:
    ids = site.ids
    found = {
        "home": "/", "stop": f"/s/{ids['stop']}", "booking form": f"/workshops/{ids['workshop']}/book",
        "ticket": f"/t/{ids['ticket']}", "my bookings on this phone": "/my-bookings", "find my booking": "/find",
        "accessibility statement": "/barrierefreiheit",
    }
    return [Target(name, found[name]) for name in PAGES]


def in_language(target: Target, lang: str) -> Target:
    """The page in a language the browser's own setting does not pick (a ?lang= link holds for the visit)."""
    if lang in LANGS:
        return target
    return Target(target.name, target.path + ("&" if "?" in target.path else "?") + f"lang={lang}")


def large_text_page(browser, site, lang: str):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  base_url=site.url, locale=LANGS.get(lang, "de-DE"))
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
    return context, page


def test_large_text_setting_takes_effect(browser, site):
    """The doubled default font size really reaches the page, so the checks below test large text."""
    context, page = large_text_page(browser, site, "de")
    try:
        page.goto("/")
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 35  # body is 1.125rem: 36 px at a 32 px default
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["de", "en", "de-x-ls", "tr", "uk", "ar", "pl", "ru", "fa"])
def test_200_percent_text_on_a_360_px_phone_never_scrolls_sideways(browser, site, lang):
    context, page = large_text_page(browser, site, lang)
    problems = []
    try:
        for target in targets(site):
            open_target(page, in_language(target, lang))
            assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 35, target.name
            found = page.evaluate(OVERFLOW)
            if found["scrollWidth"] > found["clientWidth"]:
                problems.append(f"{target.name}: {found['scrollWidth']} px in {found['clientWidth']} px; "
                                + "; ".join(found["culprits"]))
            brand = page.evaluate(BRAND)
            if brand["right"] > brand["width"] + 1:
                problems.append(f"{target.name}: the site name is cut off at {brand['right']} px")
            if lang == "de":
                allowed = {"Digital", "werk", "statt-", "Bus", "Digitalwerkstatt-", "Digitalwerk", "werkstatt-",
                           "statt-Bus", "werkstatt-Bus", "Digitalwerkstatt-Bus", "Digital werkstatt-", "werk statt-"}
                pieces = [p.strip() for p in brand["lines"]]
                if any(p not in allowed for p in pieces):
                    problems.append(f"{target.name}: the site name breaks as {pieces}")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("lang", ["de"])
def test_primary_actions_and_standalone_links_are_44_px(browser, site, lang):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  base_url=site.url, locale=LANGS[lang])
    page = context.new_page()
    problems = []
    try:
        for target in targets(site):
            open_target(page, target)
            small = page.evaluate(TARGETS)
            problems += [f"{target.name}: {s}" for s in small]
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_target_size_check_can_fail(browser, site):
    """A planted small stand-alone link is found, so a real one would be too."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=site.url)
    page = context.new_page()
    try:
        page.goto("/barrierefreiheit")
        page.evaluate("""() => { const p = document.createElement('p'); const a = document.createElement('a');
          a.href = '#'; a.textContent = 'x'; a.style.cssText = 'display:inline;font-size:10px;min-block-size:0;min-inline-size:0';
          p.appendChild(a); document.querySelector('main').appendChild(p); }""")
        assert any('"x"' in s for s in page.evaluate(TARGETS))
    finally:
        context.close()
