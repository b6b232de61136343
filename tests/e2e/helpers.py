"""What the browser tests share: one place for the helpers every module used to copy from another.

The database behind the live server, the service worker and the outbox (offline and back online, saved copies),
staff sign-in and the fake camera's video, axe-core, the keyboard's focus, and the layout's overflow check. Fixtures
live in tests/e2e/conftest.py; the page list for the accessibility and layout checks in pagelist.py.
"""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError, expect

from busapp.dev.demo import DEMO_USERS
from busapp.core.extensions import db
from busapp.models import Booking, Feedback, Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from busapp.pwa import views as pwa
from tests.conftest import PASSWORD


# --- the database behind the live server ---------------------------------------------------------------------

def query(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def count(app, model, *where) -> int:
    return query(app, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def execute(app, statement) -> None:
    def run():
        db.session.execute(statement)
        db.session.commit()

    query(app, run)


def arrived(app, code: str) -> int:
    return query(app, lambda: db.session.scalar(sa.select(Booking.arrived).where(Booking.code == code)))


def feedback_sent(live_app) -> list[Feedback]:
    """The answers sent during the test (the demo tour brings answers of its own)."""
    with live_app.app_context():
        return list(db.session.scalars(sa.select(Feedback).where(~Feedback.idempotency_key.startswith("demo-"))))


# --- the service worker, the network and the outbox ---------------------------------------------------------

def poll(page, script: str, arg=None, timeout: float = 15) -> None:
    """Wait until an (async) browser-side check is true; wait_for_function does not await promises."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(script, arg):
                return
        except PlaywrightError as exc:
            # The page may be reloading itself (the retired worker does that); ask the next page.
            if "context was destroyed" not in str(exc):
                raise
        assert time.monotonic() < deadline, f"still false after {timeout}s: {script}"
        time.sleep(0.1)


def controlled(page) -> None:
    """Wait until the service worker controls the page (installed, caches filled, clients claimed)."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", polling=100, timeout=15000)


def wait_kept(page, *paths: str) -> None:
    poll(page, """async ([name, paths]) => {
        const cache = await caches.open(name);
        const have = (await cache.keys()).map(r => { const u = new URL(r.url); return u.pathname + u.search; });
        return paths.every(p => have.includes(p));
    }""", [pwa.PAGES_CACHE, list(paths)])


def cache_names(page) -> list[str]:
    return page.evaluate("caches.keys()")


def staff_caches(page) -> list[str]:
    return page.evaluate("caches.keys().then(names => names.filter(n => n.startsWith('dwb-staff-')))")


def go_offline(context, server) -> None:
    context.set_offline(True)
    server.stop()


def go_online(context, server) -> None:
    server.start()
    context.set_offline(False)


# Like iOS: no Background Sync, so only the page sends (and Playwright's routes see every request it makes).
NO_BACKGROUND_SYNC = "Object.defineProperty(ServiceWorkerRegistration.prototype, 'sync', {get: () => undefined});"


def outbox_items(page) -> list[dict]:
    return page.evaluate("Outbox.all()")


SAVED = "Auf Ihrem Telefon gespeichert – es wird gesendet, sobald Sie wieder Internet haben."


def fill_booking(page, name: str = "Emine") -> str:
    """Fill the booking form; returns its idempotency key."""
    page.locator("input[name='name']").fill(name)
    page.locator("input[name='consent']").check()
    return page.locator("input[name='idempotency_key']").input_value()


def book_offline(page, context, server, workshop_id: int) -> str:
    page.goto(f"/workshops/{workshop_id}/book")
    controlled(page)
    go_offline(context, server)
    key = fill_booking(page)
    page.locator("form[data-outbox='booking'] button[type='submit']").click()
    expect(page.locator(".pwa-notice")).to_contain_text(SAVED)
    expect(page.locator("form[data-outbox='booking']")).to_be_hidden()
    expect(page.locator("#status-bar")).to_contain_text("1 Eintrag wartet auf das Senden.")
    return key


def bookable_workshop(app, capacity_at_least: int = 2) -> Workshop:
    def find():
        soon = utcnow() + timedelta(hours=3)
        return db.session.scalars(
            sa.select(Workshop).join(Stop).where(
                Workshop.status == WorkshopStatus.PUBLISHED, Stop.status == StopStatus.PUBLISHED,
                Workshop.starts_at > soon, Workshop.capacity >= capacity_at_least, Workshop.seats_taken == 0,
            ).order_by(Workshop.starts_at)
        ).first()

    workshop = query(app, find)
    assert workshop is not None
    return workshop


# --- staff ---------------------------------------------------------------------------------------------------

def staff_sign_in(page, base: str) -> None:
    page.goto(base + "/signin")
    page.fill("#email", "staff@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_url(base + "/staff/")


def y4m_video(path, image) -> None:
    """A short Y4M video (4:2:0) showing `image` in the middle of a white 640 x 480 frame."""
    from PIL import Image

    frame = Image.new("L", (640, 480), 255)
    image.thumbnail((440, 440))
    frame.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    y = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + y + chroma + chroma)


# --- accessibility (axe-core) -------------------------------------------------------------------------------

# What axe checks: WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")


RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return {
    version: axe.version,
    violations: result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 300),
                                summary: n.failureSummary}))
    }))
  };
}"""


def axe_violations(page) -> tuple[str, list[dict]]:
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(RUN_AXE, AXE_TAGS)
    return result["version"], result["violations"]


def describe(name: str, path: str, violations: list[dict]) -> str:
    lines = [f"{name} ({path}): {len(violations)} axe violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"      at {node['target']}\n        {node['html']}\n        "
                         + node["summary"].replace("\n", "\n        "))
    return "\n".join(lines)


# --- the keyboard ------------------------------------------------------------------------------------------

MAX_TABS = 250


# What the focused element looks like: enough to tell a visible focus from an invisible one, and to say which
# element it was when it is not. A radio or checkbox drawn by its label may show the ring on the label instead.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return {none: true};
  // A card-sized link may draw its ring on a ::before/::after that covers the card.
  const ring = (node) => {
    let style = '';
    for (const pseudo of [null, '::after', '::before']) {
      const cs = getComputedStyle(node, pseudo);
      if (pseudo && cs.content === 'none') continue;
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1;
      const shadow = !!cs.boxShadow && cs.boxShadow !== 'none';
      style += `${pseudo || ''} outline: ${cs.outlineStyle} ${cs.outlineWidth}; box-shadow: ${cs.boxShadow}. `;
      if (outline || shadow) return {outline, shadow, style};
    }
    return {outline: false, shadow: false, style};
  };
  let shown = ring(el);
  let box = el.getBoundingClientRect();
  if (!(shown.outline || shown.shadow) && el.labels && el.labels.length) {
    const labelRing = ring(el.labels[0]);
    if (labelRing.outline || labelRing.shadow) { shown = labelRing; box = el.labels[0].getBoundingClientRect(); }
  }
  const main = document.getElementById('main');
  return {
    none: false,
    tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '', name: el.name || '',
    href: el.getAttribute('href') || '', text: (el.innerText || el.value || '').trim().slice(0, 60),
    checked: !!el.checked, value: el.value || '',
    ring: shown.outline || shown.shadow, style: shown.style,
    on_screen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight &&
               box.right > 0 && box.left < window.innerWidth,
    in_main: !!(main && main.contains(el)), is_main: el === main,
  };
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUS_STATE)


def assert_focus_visible(state: dict, where: str) -> None:
    assert not state["none"], f"{where}: nothing has focus"
    label = f"<{state['tag']} id={state['id']!r} href={state['href']!r}> {state['text']!r}"
    assert state["ring"], f"{where}: focus not visible on {label} ({state['style']})"
    assert state["on_screen"], f"{where}: focused {label} is off screen"


def press(page, key: str, where: str) -> dict:
    page.keyboard.press(key)
    state = focused(page)
    assert_focus_visible(state, f"{where}, after {key}")
    return state


def tab_until(page, wanted, where: str, key: str = "Tab") -> dict:
    """Press Tab until the focused element is the wanted one, checking the focus ring on every stop."""
    seen = []
    for _ in range(MAX_TABS):
        state = press(page, key, where)
        if wanted(state):
            return state
        seen.append(f"{state['tag']}:{state['href'] or state['name'] or state['text'][:20]}")
    raise AssertionError(f"{where}: not reached with {MAX_TABS} x {key}; focus went through {seen[-40:]}")


def bookable_stop(live_app) -> tuple[int, int]:
    """The soonest upcoming stop with a workshop that has seats, and that workshop."""
    with live_app.app_context():
        now = utcnow()
        workshop = db.session.scalars(
            sa.select(Workshop).join(Stop).where(
                Stop.status == StopStatus.PUBLISHED, Workshop.status == WorkshopStatus.PUBLISHED,
                Workshop.starts_at > now, Workshop.capacity - Workshop.seats_taken >= 2)
            .order_by(Stop.starts_at, Workshop.starts_at).limit(1)
        ).one()
        return workshop.stop_id, workshop.id


# --- layout ----------------------------------------------------------------------------------------------

# The document must not be wider than the window; the elements that stick out are named in the failure message.
# Content inside its own scrolling box (a wide table in .table-wrap) is allowed by WCAG and does not widen the page.
OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const out = [];
  if (root.scrollWidth > width) {
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.right > width + 1 || r.left < -1) {
        let p = el.parentElement, clipped = false;
        while (p && p !== document.body) {
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') { clipped = true; break; }
          p = p.parentElement;
        }
        if (clipped) continue;
        const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
          (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
        out.push(`${name} [${Math.round(r.left)}..${Math.round(r.right)}] "${(el.textContent || '').trim().slice(0, 40)}"`);
      }
    }
  }
  return {scrollWidth: root.scrollWidth, clientWidth: width, culprits: out.slice(0, 8)};
}"""


# The narrowest phone, and what 200 % zoom lays a 640 px window out at (WCAG 1.4.10 reflow): the axe sweeps open
# every page at this size, so each page load is checked for axe violations and for sideways scrolling at once.
NARROW = {"width": 320, "height": 720}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def sideways(page, label: str, shot: str) -> str | None:
    """None when the page fits its window; else what sticks out, with a full-page screenshot kept under shot."""
    found = page.evaluate(OVERFLOW)
    if found["scrollWidth"] <= found["clientWidth"]:
        return None
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"reflow-{shot.replace(' ', '-').replace('/', '_')}.png"
    page.screenshot(path=str(path), full_page=True)
    return (f"{label}: page is {found['scrollWidth']} px wide in a {found['clientWidth']} px window; sticking out:\n"
            "    " + "\n    ".join(found["culprits"] or ["(no single element found)"]) + f"\n    screenshot: {path}")


TABLET = {"width": 1024, "height": 768}
OFFICE = {"width": 1280, "height": 800}


def new_tablet(browser, base: str, name: str):
    """A 1024 x 768 tablet with staff signed in and the tablet set up under `name`, approved by the coordinator in
    a browser of their own (the pairing rule): (context, page)."""
    context = browser.new_context(viewport=TABLET, base_url=base, locale="de-DE")
    page = context.new_page()
    staff_sign_in(page, base)
    ask_to_set_up(page, base, name)
    approve_tablet(browser, base, name)
    return context, page


def ask_to_set_up(page, base: str, name: str) -> str:
    """Staff ask to set up this tablet under `name`; it waits for approval. Returns the code it shows."""
    page.goto(base + "/staff/tablet")
    page.fill("#name", name)
    page.click("main form button[type=submit]")
    expect(page.locator("#device-credential")).to_have_count(1)
    return page.locator("#device-credential").get_attribute("data-code")


def approve_tablet(browser, base: str, name: str) -> None:
    """The coordinator approves the waiting tablet `name` on the tablets' page, in a desk browser of their own."""
    context = browser.new_context(viewport=OFFICE, base_url=base, locale="de-DE")
    page = context.new_page()
    page.goto(base + "/signin")
    page.fill("#email", "koordination@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit] >> nth=-1")
    page.goto(base + "/admin/tablets")
    page.locator("tr", has_text=name).get_by_role("button", name="Freigeben").click()
    expect(page.locator(".flash--success")).to_contain_text(name)
    context.close()


def wait_prepared(page) -> None:
    """The tablet has today's data for offline use."""
    expect(page.locator("[data-sync-day]")).to_contain_text("Bereit für offline")


def wait_pages_kept(page) -> None:
    """The service worker has kept today's staff pages on the tablet."""
    expect(page.locator("#sync")).to_have_attribute("data-offline-pages", "ready", timeout=30000)


def sign_in_as_coordinator(page) -> None:
    """Sign in with the demo coordinator through the real form (the page has a base_url)."""
    sign_in_demo(page, "coordinator")


def sign_in_demo(page, role: str) -> None:
    """Sign in with the demo account of `role` through the real form (the page has a base_url)."""
    email, _role, password = next(u for u in DEMO_USERS if u[1] == role)
    page.goto("/signin")
    page.fill("input[type=email]", email)
    page.fill("input[type=password]", password)
    with page.expect_navigation():
        page.locator("main form [type=submit]").first.click()


def offline_check_in_waiting(browser, base: str, workshop_id: int):
    """A prepared tablet gone offline, with Hans Meier checked in on it and that check-in waiting to be sent."""
    context, page = new_tablet(browser, base, "Tablet vorne")
    page.goto(f"{base}/staff/workshops/{workshop_id}")
    wait_prepared(page)
    context.set_offline(True)
    page.locator("#list .door-row", has_text="Hans Meier").locator("button", has_text="Einchecken").click()
    expect(page.locator("[data-sync-queue]")).to_contain_text("1")
    return context, page
