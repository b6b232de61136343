"""The coordinators' search and menu with the keyboard alone, at 1280 x 800: the header's box leads to the search page,
results follow the typing, the arrow keys walk through them, Enter opens one; "More" opens, Escape closes it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import axe_violations, describe, focused, press, sign_in_as_coordinator, tab_until

pytestmark = pytest.mark.browser


def test_search_with_the_keyboard(office):
    page = office
    sign_in_as_coordinator(page)
    page.goto("/admin")
    tab_until(page, lambda s: s["id"] == "header-q", "week page")
    page.keyboard.type("Moisling")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/admin/search?q=Moisling" in page.url
    expect(page.locator("#search-status")).to_contain_text("Moisling")
    assert page.locator("#found-places").count() == 1 and page.locator("#found-stops").count() == 1

    # Typing narrows the results without a new page: the address bar keeps the query.
    box = page.locator("#q")
    box.focus()
    box.fill("")
    page.keyboard.type("Haus für alle")
    expect(page.locator("#search-status")).to_contain_text("Haus für alle")
    expect(page).to_have_url(re.compile(r"q=Haus"))
    first_place = page.locator(".search-list a").first
    assert page.locator(".search-list a").count() >= 2

    # The arrow keys walk through the results and back to the box; Enter opens one.
    state = press(page, "ArrowDown", "search box")
    assert state["href"] == first_place.get_attribute("href"), state
    second = press(page, "ArrowDown", "first result")
    assert second["href"] != state["href"] and second["tag"] == "a"
    assert press(page, "ArrowUp", "second result")["href"] == state["href"]
    assert press(page, "ArrowUp", "first result")["id"] == "q"
    press(page, "ArrowDown", "search box")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/admin/places/\d+$", page.url), page.url

    page.goto("/admin/search?q=Moisling")
    version, violations = axe_violations(page)
    assert not violations, describe(f"search page (axe {version})", page.url, violations)


def test_the_more_menu_opens_and_closes_with_the_keyboard(office):
    page = office
    sign_in_as_coordinator(page)
    page.goto("/admin")
    menu = page.locator("details[data-menu]")
    tab_until(page, lambda s: s["tag"] == "summary" and s["text"].startswith("Mehr"), "menu bar")
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    state = press(page, "Tab", "open menu")
    assert state["tag"] == "a" and state["href"] == "/admin/translations", state
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    assert focused(page)["tag"] == "summary"
    # A click elsewhere closes it too.
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.locator("main h1").click()
    expect(menu).not_to_have_attribute("open", "")
