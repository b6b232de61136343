"""A resident has their say on a 360 px phone: the demo's running consultation, answered in Turkish and in Leichte
Sprache, the idea on the thank-you page's way; axe finds nothing on the pages in four languages."""
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


@pytest.mark.parametrize("lang, words", [
    ("tr", {"title": "Söz sizde", "thanks": "Teşekkürler! Yanıtınız kaydedildi.", "follow": "Fikrinizi takip edin",
            "unread": "Belediye ekibi henüz okumadı.", "idea": "Kütüphanede ücretsiz WLAN"}),
    ("de-x-ls", {"title": "Mitreden", "thanks": "Danke! Wir haben Ihre Antwort.", "follow": "Ihre Idee später ansehen",
                 "unread": "Das Team von der Stadt hat Ihre Idee noch nicht gelesen.",
                 "idea": "Mehr Hilfe beim Handy in der Bücherei"}),
])
def test_a_resident_answers_on_a_phone(page, live_server, lang, words):
    """Turkish and Leichte Sprache on a 360 px phone: the answer, the thank-you page with the private link to
    follow the idea, and the idea waiting for the city's team, all in the resident's language, nothing sideways."""
    page.goto(f"/mitreden?lang={lang}")
    assert page.locator("h1").inner_text() == words["title"]
    page.locator("main h3 a").first.click()
    form = page.locator("#mitreden-form")
    radio = form.locator("input[type=radio]").first
    row = radio.locator("xpath=..").bounding_box()
    assert row["height"] >= 44, row
    radio.check()
    page.fill("textarea[name=idea]", words["idea"])
    page.locator("#mitreden-form button[type=submit]").click()
    page.wait_for_url(f"**/danke?folgen=*&lang={lang}")
    assert words["thanks"] in page.locator("main").inner_text()
    # The private link to follow the idea, in the resident's language, leading to the idea waiting for the team.
    assert words["follow"] in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.goto(page.locator(".follow-link__url a").get_attribute("href").replace("http://localhost", ""))
    assert words["idea"] in page.locator("main").inner_text()
    assert words["unread"] in page.locator("main").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
