"""A coordinator at 1280 x 800 carries residents' ideas to the advisory board: a resident's new idea is published
and answered (a "not possible" without a reason is refused in place, what was typed kept), the idea and the city's
answer appear on the public page, and the board report prints on A4 with its charts."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import OFFICE, sign_in_as_coordinator

pytestmark = pytest.mark.browser

IDEA = "Ein Tablet zum Ausleihen in der Stadtteilbücherei"


def test_a_coordinator_moderates_answers_and_prints_the_board_report(browser, live_server, tmp_path):
    # A resident leaves an idea on a phone.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url, locale="de-DE")
    resident = phone.new_page()
    resident.goto("/mitreden")
    resident.locator("main h3 a").first.click()
    resident.fill("textarea[name=idea]", IDEA)
    resident.locator("#mitreden-form button[type=submit]").click()
    resident.wait_for_url("**/danke?folgen=*")
    consultation = re.search(r"/mitreden/(\d+)/danke", resident.url).group(1)
    phone.close()

    office = browser.new_context(viewport=OFFICE, base_url=live_server.url, locale="de-DE")
    page = office.new_page()
    sign_in_as_coordinator(page)
    page.goto(f"/admin/mitreden/{consultation}/ideen")
    idea = page.locator("li.idea", has=page.locator(".idea__text", has_text=IDEA))
    expect(idea).to_contain_text("Neu")
    expect(idea).to_contain_text("Telefon")  # the way it came in, in words
    # Publish it.
    idea.get_by_label("Veröffentlichen").check()
    idea.get_by_role("button", name="Entscheidung speichern").click()
    expect(page.locator(".flash--success")).to_contain_text("Die Idee ist veröffentlicht.")
    idea = page.locator("li.idea", has=page.locator(".idea__text", has_text=IDEA))
    # "Not possible" needs a reason: refused next to the answer, the choice kept.
    answer_form = idea.locator("form", has=page.get_by_role("button", name="Antwort speichern"))
    answer_form.locator("select").first.select_option("not_possible")
    answer_form.get_by_role("button", name="Antwort speichern").click()
    idea = page.locator("li.idea", has=page.locator(".idea__text", has_text=IDEA))
    answer_form = idea.locator("form", has=page.get_by_role("button", name="Antwort speichern"))
    expect(answer_form.locator(".error-message")).to_be_visible()
    expect(answer_form.locator("select").first).to_have_value("not_possible")
    # Taken into the strategy, with the city's answer.
    answer_form.locator("select").first.select_option("taken")
    answer_form.locator("textarea").first.fill("Die Büchereien verleihen ab März Tablets.")
    answer_form.get_by_role("button", name="Antwort speichern").click()
    expect(page.locator(".flash--success")).to_contain_text("Die Antwort ist gespeichert.")

    # Residents see the idea with the city's answer.
    page.goto("/mitreden")
    public = page.locator("main").inner_text()
    if IDEA not in public:  # the ideas may be one page further, on the consultation's own page
        page.goto(f"/mitreden/{consultation}")
        public = page.locator("main").inner_text()
    assert IDEA in public and "Die Büchereien verleihen ab März Tablets." in public

    # The board report: charts drawn on the server, beside their tables, and it prints on A4.
    page.goto(f"/admin/mitreden/{consultation}/bericht")
    expect(page.locator("main svg").first).to_be_visible()
    assert page.locator("main table").count() >= 1
    assert IDEA in page.locator("main").inner_text()
    page.emulate_media(media="print")
    a4_width = 794  # 210 mm at 96 px per inch
    page.set_viewport_size({"width": a4_width, "height": 1123})
    assert page.evaluate("document.documentElement.scrollWidth") <= a4_width
    page.screenshot(path=str(tmp_path / "bericht.png"), full_page=True)
    pdf = tmp_path / "bericht.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000
    office.close()
