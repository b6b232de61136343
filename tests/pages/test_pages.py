"""The accessibility statement page: reachable from every page, in both languages, with a configurable contact."""
import re

import pytest


def test_statement_in_german_by_default(client):
    response = client.get("/barrierefreiheit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Erklärung zur Barrierefreiheit</h1>" in html
    assert "teilweise vereinbar" in html
    assert "Beschwerdestelle für barrierefreie Informationstechnik" in html
    assert 'datetime="2026-11-29"' in html


def test_statement_in_english(client):
    html = client.get("/barrierefreiheit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Accessibility statement</h1>" in html
    assert "partially compliant" in html
    # The German name of the complaints body is marked as German for screen readers on the English page.
    assert re.search(r'<a href="https://www\.landtag\.ltsh\.de/[^"]*" lang="de">Beschwerdestelle', html)


def test_contact_phone_and_date_come_from_settings(app, client):
    app.config.update(ACCESSIBILITY_CONTACT="barrieren@luebeck.example", ACCESSIBILITY_PHONE="0451 122 0",
                      ACCESSIBILITY_STATEMENT_DATE="2027-03-01")
    html = client.get("/barrierefreiheit").get_data(as_text=True)
    assert 'href="mailto:barrieren@luebeck.example?subject=' in html
    assert 'href="tel:04511220"' in html and ">0451 122 0<" in html
    assert '<time datetime="2027-03-01">1. März 2027</time>' in html


def test_malformed_statement_date_falls_back(app, client):
    app.config["ACCESSIBILITY_STATEMENT_DATE"] = "next tuesday"
    response = client.get("/barrierefreiheit")
    assert response.status_code == 200
    assert 'datetime="2026-11-29"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/signin", "/barrierefreiheit", "/no-such-page"])
def test_every_page_links_the_statement_in_the_footer(client, path):
    html = client.get(path).get_data(as_text=True)
    footer = html[html.index('<footer'):]
    assert 'href="/barrierefreiheit"' in footer


def test_footer_link_marks_the_current_page(client):
    assert 'href="/barrierefreiheit" aria-current="page"' in client.get("/barrierefreiheit").get_data(as_text=True)
    assert 'aria-current="page">Erklärung' not in client.get("/").get_data(as_text=True)
