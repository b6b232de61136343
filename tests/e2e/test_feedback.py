"""Feedback in a real browser: the thank-you replaces the form in place with htmx, the form works with
JavaScript off and by keyboard, and every poster prints on exactly one A4 sheet."""
from __future__ import annotations

import re

import pytest

from busapp.dev.demo import DEMO_USERS
from busapp.core.extensions import db
from busapp.models import Stop
from tests.e2e.helpers import feedback_sent

pytestmark = pytest.mark.browser


def test_htmx_thank_you_replaces_the_form_in_place(page, live_app, open_stop_id):
    page.goto(f"/f/{open_stop_id}")
    page.click("label[for=rating-3]")
    page.fill("#learned", "Wie man ein Foto verschickt")
    page.click("button.feedback-form__send")
    page.wait_for_selector("#thanks")
    assert page.url.endswith(f"/f/{open_stop_id}")  # no new page: the fragment took the form's place
    assert page.locator("#feedback").count() == 0
    assert page.evaluate("document.activeElement.id") == "thanks"
    assert "Vielen Dank!" in page.inner_text("#thanks")
    records = feedback_sent(live_app)
    assert [(r.rating, r.learned) for r in records] == [(4, "Wie man ein Foto verschickt")]


def test_htmx_errors_come_back_next_to_the_field(page, live_app, open_stop_id):
    page.goto(f"/f/{open_stop_id}")
    # Leave out the browser's own check to see the server's message, as an old browser would.
    page.evaluate("document.querySelectorAll('input[name=rating]').forEach(e => e.removeAttribute('required'))")
    page.fill("#missing", "Mehr Zeit")
    page.click("button.feedback-form__send")
    page.wait_for_selector("#rating-error")
    assert "Bitte wählen Sie ein Gesicht von 1 bis 5." in page.inner_text("#rating-error")
    assert page.input_value("#missing") == "Mehr Zeit"
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.click("label[for=rating-1]")
    page.click("button.feedback-form__send")
    page.wait_for_selector("#thanks")
    assert [(r.rating, r.missing) for r in feedback_sent(live_app)] == [(2, "Mehr Zeit")]


def test_form_works_without_javascript(browser, live_server, live_app, open_stop_id):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url, locale="de-DE",
                                  viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"/f/{open_stop_id}")
        page.check("#rating-4", force=True)
        page.click("button.feedback-form__send")
        page.wait_for_url(re.compile(rf"/f/{open_stop_id}/thanks$"))
        assert "Vielen Dank!" in page.inner_text("main")
    finally:
        context.close()
    assert [r.rating for r in feedback_sent(live_app)] == [5]


def test_faces_are_a_keyboard_radio_group(page, open_stop_id):
    page.goto(f"/f/{open_stop_id}")
    page.focus("#rating-0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "rating-2"
    assert page.is_checked("#rating-2")
    # The focus ring is drawn on the visible tile, since the radio itself is invisible.
    outline = page.evaluate("getComputedStyle(document.querySelector('label[for=rating-2]')).outlineStyle")
    assert outline == "solid"
    name = page.evaluate("document.querySelector('#rating-2').labels[0].textContent.replace(/\\s+/g, ' ').trim()")
    assert name == "3 – mittel"


@pytest.mark.parametrize("path", ["/admin/posters/bus", "/admin/posters/stops/{stop}", "/admin/posters/workshops/{ws}"])
def test_each_poster_prints_on_one_a4_sheet(browser, live_server, live_app, open_stop_id, path):
    with live_app.app_context():
        workshop_id = db.session.get(Stop, open_stop_id).workshops[0].id
    context = browser.new_context(base_url=live_server.url, locale="de-DE", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        email, _, password = next(u for u in DEMO_USERS if u[1] == "coordinator")
        page.goto("/signin")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/admin$"))  # coordinators land on planning
        page.goto(path.format(stop=open_stop_id, ws=workshop_id))
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        context.close()
    pages = int(re.search(rb"/Count (\d+)", pdf).group(1))
    assert pages == 1
    # A4 portrait in PDF points (595 x 842).
    width, height = (float(x) for x in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups())
    assert (round(width), round(height)) == (595, 842)
