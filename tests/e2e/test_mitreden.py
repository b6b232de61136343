"""A resident has their say on a 360 px phone: the demo's running consultation, answered in Turkish without any
script, the idea on the thank-you page's way; axe finds nothing on the pages in four languages."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import axe_violations, describe


@pytest.mark.parametrize("lang", ["de", "tr", "ar", "de-x-ls"])
def test_mitreden_pages_pass_axe(page, live_server, lang):
    page.goto(f"/mitreden?lang={lang}")
    problems = []
    _, violations = axe_violations(page)
    if violations:
        problems.append(describe("index", page.url, violations))
    page.locator("main h3 a").first.click()
    page.wait_for_selector("#mitreden-form")
    _, violations = axe_violations(page)
    if violations:
        problems.append(describe("form", page.url, violations))
    assert not problems, "\n".join(problems)


def test_a_resident_answers_in_turkish_on_a_phone(page, live_server):
    page.goto("/mitreden?lang=tr")
    assert page.locator("h1").inner_text() == "Söz sizde"
    page.locator("main h3 a").first.click()
    form = page.locator("#mitreden-form")
    radio = form.locator("input[type=radio]").first
    row = radio.locator("xpath=..").bounding_box()
    assert row["height"] >= 44, row
    radio.check()
    page.fill("textarea[name=idea]", "Kütüphanede ücretsiz WLAN")
    page.locator("#mitreden-form button[type=submit]").click()
    page.wait_for_url("**/danke?folgen=*&lang=tr")
    assert "Teşekkürler! Yanıtınız kaydedildi." in page.locator("main").inner_text()
    # The private link to follow the idea, in Turkish, leading to the idea waiting for the city's team.
    assert "Fikrinizi takip edin" in page.locator("main").inner_text()
    page.goto(page.locator(".follow-link__url a").get_attribute("href").replace("http://localhost", ""))
    assert "Kütüphanede ücretsiz WLAN" in page.locator("main").inner_text()
    assert "Belediye ekibi henüz okumadı." in page.locator("main").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
