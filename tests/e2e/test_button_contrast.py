"""The tablet's buttons keep their contrast in every state (Debian's Chromium, 1024 x 768): default, hover, keyboard
focus, pressed and disabled, on today's page (with the menu and its sign-out), the check-in list, the scan page and
the set-up page. Measured in the browser from the computed colours, backgrounds and opacity of each button and what
lies behind it: text at least 4.5:1 (3:1 for large text, WCAG 1.4.3), a focus ring at least 3:1 against what is
around it (WCAG 1.4.11). Disabled buttons are held to the same, so that their label stays readable."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import TABLET, staff_sign_in

pytestmark = pytest.mark.browser

BUTTONS = "button, a.button, .link-button, summary"
STATES = ("default", "hover", "focus-visible", "active", "disabled")

# Every visible button's contrast as the browser paints it: text against its background, and the focus ring.
MEASURE = r"""(selector) => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c || "");
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const mix = (a, b, t) => [0, 1, 2].map((i) => a[i] * t + b[i] * (1 - t)).concat(1);
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const white = [255, 255, 255, 1];
  const out = [];
  document.querySelectorAll(selector).forEach((el) => {
    const rect = el.getBoundingClientRect();
    if (!rect.width || !rect.height || getComputedStyle(el).visibility === "hidden") return;
    const chain = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) chain.unshift(n);
    const styles = chain.map((n) => getComputedStyle(n));
    const s = styles[styles.length - 1];
    // The colour a pixel ends up with, painting chain[0..last] (and the text, if asked), opacity included.
    const paint = (last, text) => {
      const render = (i, outside) => {
        const own = over(parse(styles[i].backgroundColor), outside);
        const inner = i === last ? (text ? over(text, own) : own) : render(i + 1, own);
        return mix(inner, outside, Number(styles[i].opacity));
      };
      return render(0, white);
    };
    const fg = paint(chain.length - 1, parse(s.color)), bg = paint(chain.length - 1, null);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    let ring = null;
    if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) {
      // The ring is drawn around the element, on what is behind it: the best-contrasting of its colours counts.
      const behind = chain.length > 1 ? paint(chain.length - 2, null) : white;
      const colours = [parse(s.outlineColor)].concat((s.boxShadow.match(/rgba?\([^)]+\)/g) || []).map(parse));
      ring = Math.max.apply(null, colours.filter((c) => c[3] > 0).map((c) => ratio(over(c, behind), behind)));
    }
    out.push({
      label: (el.textContent || el.value || "").trim().replace(/\s+/g, " ").slice(0, 40),
      tag: el.tagName.toLowerCase(), cls: String(el.className), ratio: Math.round(ratio(fg, bg) * 100) / 100,
      needed: size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5, ring: ring === null ? null : Math.round(ring * 100) / 100,
    });
  });
  return out;
}
"""


def _force(cdp, state: str) -> None:
    """Put every button into `state` (Chromium's DevTools protocol forces the pseudo-class, as the inspector does)."""
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    for node in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": BUTTONS})["nodeIds"]:
        forced = [] if state in ("default", "disabled") else [state] + (["focus"] if state == "focus-visible" else [])
        cdp.send("CSS.forcePseudoState", {"nodeId": node, "forcedPseudoClasses": forced})


def _problems(page, cdp, where: str) -> list[str]:
    found = []
    for state in STATES:
        _force(cdp, state)
        if state == "disabled":
            page.evaluate("() => document.querySelectorAll('button').forEach(b => { b.dataset.was = b.disabled; "
                          "b.disabled = true; })")
        for item in page.evaluate(MEASURE, BUTTONS):
            if state == "disabled" and item["tag"] != "button":
                continue
            if item["ratio"] < item["needed"]:
                found.append(f"{where} {state}: “{item['label']}” ({item['cls']}) {item['ratio']}:1, needs {item['needed']}")
            if state == "focus-visible" and (item["ring"] is None or item["ring"] < 3):
                found.append(f"{where} focus ring: “{item['label']}” ({item['cls']}) {item['ring']}:1, needs 3")
        if state == "disabled":
            page.evaluate("() => document.querySelectorAll('button').forEach(b => { b.disabled = b.dataset.was === 'true'; })")
    _force(cdp, "default")
    return found


def test_every_button_keeps_its_contrast_in_every_state(browser, bus):
    _app, server, ids = bus
    context = browser.new_context(viewport=TABLET, base_url=server.url, locale="de-DE")
    page = context.new_page()
    staff_sign_in(page, server.url)
    cdp = context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    problems = []
    measured = 0
    for path in ("/staff/", f"/staff/workshops/{ids['workshop']}", f"/staff/workshops/{ids['workshop']}/scan",
                 "/staff/tablet"):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        # The menu's "more" list and the sign-out are part of the page too.
        measured += len(page.evaluate(MEASURE, BUTTONS))
        problems += _problems(page, cdp, path)
    assert measured >= 20, measured
    assert problems == [], "\n".join(problems)
    context.close()
