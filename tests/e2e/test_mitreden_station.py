"""The Mitmach-Station on a 1024 x 768 tablet, used with the keyboard only: three people answer one after another and
each meets an empty form; a half-filled form clears itself when nobody touches it; the tablet cannot leave the
station without the staff PIN, and with it can."""
from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.helpers import TABLET, sign_in_demo

PIN = "2468"


def _tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def _form_is_empty(page) -> bool:
    return page.evaluate("""() => {
        const f = document.getElementById('mitreden-form');
        return ![...f.querySelectorAll('input[type=radio], input[type=checkbox]')].some(i => i.checked)
            && [...f.querySelectorAll('textarea')].every(t => t.value === '');
    }""")


def test_three_people_answer_at_the_station_and_only_the_pin_leaves_it(browser, live_server, live_app):
    base = live_server.url
    context = browser.new_context(viewport=TABLET, base_url=base, locale="de-DE")
    page = context.new_page()
    sign_in_demo(page, "staff")
    page.goto("/admin/mitreden/station")
    page.fill("#pin", PIN)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mitreden/station")
    expect(page.locator(".site-nav")).to_be_hidden()

    for n in range(3):
        assert _form_is_empty(page), f"person {n + 1} met a filled form"
        _tab_to(page, "#mitreden-form input[type=radio]")
        page.keyboard.press("Space")
        _tab_to(page, "#mitreden-form textarea[name=idea]")
        page.keyboard.type(f"Idee von Person {n + 1}")
        _tab_to(page, "#mitreden-form button[type=submit]")
        page.keyboard.press("Enter")
        # The answer page takes the form's place (offline.js sends it, so that it can keep it without network).
        expect(page.locator("#mitreden-form textarea[name=idea]")).to_have_value("")
        expect(page.locator(".station-thanks")).to_be_visible()
    page.screenshot(path="/tmp/station-after-three.png")

    # Someone starts and walks away: the form clears itself (the wait shortened on the page).
    _tab_to(page, "#mitreden-form textarea[name=idea]")
    page.keyboard.type("halb fertig")
    page.evaluate("document.getElementById('station').dataset.idleSeconds = '0.5'")
    expect(page.locator(".station-thanks")).to_have_count(0, timeout=5000)
    assert _form_is_empty(page)

    # Leaving: another page leads back; a wrong PIN keeps the station; the right one leaves it.
    page.goto("/staff/")
    assert page.url.endswith("/mitreden/station")
    page.locator(".station-leave summary").focus()
    page.keyboard.press("Enter")
    _tab_to(page, "#station-leave input[name=pin]")
    page.keyboard.type("1111")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/mitreden/station")
    page.locator(".station-leave summary").click()
    page.fill("#station-leave input[name=pin]", PIN)
    with page.expect_navigation():
        page.locator("#station-leave button[type=submit]").click()
    assert page.url.endswith("/staff/")

    with live_app.app_context():
        from busapp.core.extensions import db
        from busapp.participation.models import Channel, Contribution, Idea

        ideas = db.session.scalars(sa.select(Idea.text).join(Contribution)
                                   .where(Contribution.channel == Channel.STATION, Idea.text.like("Idee von%"))
                                   .order_by(Idea.id)).all()
    assert ideas == ["Idee von Person 1", "Idee von Person 2", "Idee von Person 3"]
    context.close()


def test_three_people_at_the_station_offline_for_the_second(browser, live_server, live_app):
    """The second person answers while the tablet has no network: the answer waits on the tablet, the screen says
    only "thank you, 1 answer waiting" over an empty form, and the answer is stored once when the network is back."""
    from tests.e2e.helpers import go_offline, go_online

    context = browser.new_context(viewport=TABLET, base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    sign_in_demo(page, "staff")
    page.goto("/admin/mitreden/station")
    page.fill("#pin", PIN)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/mitreden/station")

    def answer(idea: str) -> str:
        assert _form_is_empty(page)
        page.locator("#mitreden-form input[type=radio]").first.check()
        page.fill("#mitreden-form textarea[name=idea]", idea)
        key = page.locator("#mitreden-form input[name=idempotency_key]").input_value()
        page.locator("#mitreden-form button[type=submit]").click()
        return key

    answer("Erste Person: WLAN im Bus")
    expect(page.locator(".station-thanks")).to_be_visible()

    go_offline(context, live_server)
    second = answer("Zweite Person: ohne Netz gesagt")
    notice = page.locator(".station-kept")
    expect(notice).to_contain_text("Danke! 1 Antwort wartet auf das Senden.")
    expect(page.locator("#mitreden-form")).to_be_visible()
    assert _form_is_empty(page)
    new_key = page.locator("#mitreden-form input[name=idempotency_key]").input_value()
    assert new_key and new_key != second
    # Nothing of the second person's answers is on the screen: no outbox list, no summary, no typed text.
    expect(page.locator("#outbox")).to_have_count(0)
    assert "ohne Netz gesagt" not in page.inner_text("body")
    assert page.locator(".station-thanks").count() == 0
    page.screenshot(path="/tmp/station-offline-waiting.png")
    with live_app.app_context():
        from busapp.core.extensions import db
        from busapp.participation.models import Contribution

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contribution)
                                 .where(Contribution.idempotency_key == second)) == 0

    go_online(context, live_server)
    expect(notice).to_contain_text("Danke! Alle Antworten sind gesendet.")
    answer("Dritte Person: Kurse am Abend")
    expect(page.locator(".station-thanks")).to_be_visible()
    assert "ohne Netz gesagt" not in page.inner_text("body")
    page.evaluate("Outbox.flush({force: true})")

    with live_app.app_context():
        from busapp.core.extensions import db
        from busapp.participation.models import Channel, Contribution, Idea

        rows = db.session.execute(sa.select(Idea.text, Contribution.channel, Contribution.idempotency_key)
                                  .join(Contribution).where(Idea.text.like("% Person: %"))
                                  .order_by(Idea.id)).all()
    assert [r[0] for r in rows] == ["Erste Person: WLAN im Bus", "Zweite Person: ohne Netz gesagt",
                                    "Dritte Person: Kurse am Abend"]
    assert {r[1] for r in rows} == {Channel.STATION} and rows[1][2] == second
    context.close()
