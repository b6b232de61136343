"""Setting up a tablet in a real browser (Debian's Chromium, 1024 x 768): the tablet asks, says plainly that it waits
for a coordinator's approval (with its code) and cannot prepare for offline use until then; the coordinator approves
it on /admin/tablets and the waiting tablet is ready by itself, without a reload."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import TABLET, approve_tablet, ask_to_set_up, staff_sign_in, wait_prepared

pytestmark = pytest.mark.browser


def test_a_tablet_waits_for_approval_says_so_and_is_ready_once_approved(browser, bus):
    _app, server, _ids = bus
    context = browser.new_context(viewport=TABLET, base_url=server.url, locale="de-DE")
    page = context.new_page()
    staff_sign_in(page, server.url)
    code = ask_to_set_up(page, server.url, "Tablet vorne")
    expect(page.locator(".pairing")).to_contain_text("wartet auf die Freigabe durch die Koordination")
    expect(page.locator(".pairing [data-pairing-code]")).to_have_text(code)
    page.goto(server.url + "/staff/")
    wait_box = page.locator("#pairing-wait")
    expect(wait_box).to_be_visible()
    expect(wait_box).to_contain_text(code)
    expect(page.locator("#first-step")).to_be_hidden()
    # The box is in the first screen, and the buttons that cannot work yet say why.
    box = wait_box.bounding_box()
    assert box["y"] + box["height"] <= TABLET["height"], box
    expect(page.locator("[data-sync-day]")).to_contain_text("wartet auf die Freigabe")
    prepare = page.locator("[data-sync-prepare]")
    expect(prepare).to_be_disabled()
    expect(prepare).to_have_attribute("aria-describedby", "sync-day-line")
    approve_tablet(browser, server.url, "Tablet vorne")
    # The tablet asks again by itself every few seconds: no reload, no tap.
    expect(wait_box).to_be_hidden(timeout=15000)
    wait_prepared(page)
    expect(prepare).to_be_enabled()
    context.close()
