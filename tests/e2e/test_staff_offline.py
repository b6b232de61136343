"""A page of the bus team opened without network and without a saved copy (Debian's Chromium, 1024 x 768): the
tablet says in plain words that this page is not saved on it and links to the staff pages that are; a tablet that
keeps none says that too, and how to get them."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import TABLET, controlled, new_tablet, staff_sign_in, wait_pages_kept

pytestmark = pytest.mark.browser


def test_a_staff_page_without_a_saved_copy_says_so_and_links_to_the_saved_ones(browser, bus):
    _app, server, ids = bus
    context, page = new_tablet(browser, server.url, "Tablet vorne")
    page.goto(server.url + "/staff/")
    wait_pages_kept(page)
    context.set_offline(True)
    # The tablet's set-up page is never kept: the answer says so instead of the residents' offline page.
    page.goto(server.url + "/staff/tablet")
    notice = page.locator("#staff-offline")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Diese Seite für das Bus-Team ist auf diesem Tablet nicht gespeichert.")
    expect(page.locator("#offline-main")).to_be_hidden()
    links = page.locator("#staff-saved a")
    expect(links).to_have_count(3)  # today, and the workshop's check-in list and scan page
    assert links.evaluate_all("(as) => as.map(a => new URL(a.href).pathname)") == [
        "/staff/", f"/staff/workshops/{ids['workshop']}", f"/staff/workshops/{ids['workshop']}/scan"]
    expect(links.first).to_have_text("Heute im Bus")
    expect(page.locator("#staff-saved-none")).to_be_hidden()
    # A saved one opens from there, without network.
    links.first.click()
    expect(page.locator("h1")).to_contain_text("Heute im Bus")
    expect(page.locator(".staff-copy")).to_be_visible()
    # So does a door list of another workshop that is not saved: the same plain answer.
    page.goto(server.url + "/staff/workshops/999999")
    expect(page.locator("#staff-offline")).to_be_visible()
    context.close()


def test_a_tablet_that_keeps_no_staff_page_says_so_and_how_to_get_them(browser, bus):
    _app, server, _ids = bus
    context = browser.new_context(viewport=TABLET, base_url=server.url, locale="de-DE")
    page = context.new_page()
    staff_sign_in(page, server.url)
    controlled(page)
    context.set_offline(True)
    page.goto(server.url + "/staff/")
    expect(page.locator("#staff-offline")).to_contain_text("nicht gespeichert")
    expect(page.locator("#staff-saved-none")).to_contain_text("Bereit für offline")
    expect(page.locator("#staff-saved-intro")).to_be_hidden()
    expect(page.locator("#staff-saved a")).to_have_count(0)
    context.close()
