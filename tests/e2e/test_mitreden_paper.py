"""Paper cards typed in by a bus volunteer on a 1024 x 768 tablet: the first card with network, the second without;
the form empties for the next card each time, the tablet says how many cards wait, and once the network is back
exactly two paper answers exist, each typed by that volunteer."""
from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.dev.demo import DEMO_USERS
from tests.e2e.helpers import TABLET, go_offline, go_online, new_tablet, poll, sign_in_demo, wait_pages_kept


def _form_is_empty(page) -> bool:
    return page.evaluate("""() => {
        const f = document.getElementById('mitreden-form');
        return ![...f.querySelectorAll('input[type=radio], input[type=checkbox]')].some(i => i.checked)
            && [...f.querySelectorAll('textarea')].every(t => t.value === '');
    }""")


def _paper_answers(live_app) -> list[tuple[str, str, int | None]]:
    """The paper answers typed during the test (the demo tour brings some of its own): idea, key, who typed it."""
    with live_app.app_context():
        from busapp.core.extensions import db
        from busapp.models import AuditEvent
        from busapp.participation.models import Channel, Contribution, Idea

        try:
            return [tuple(row) for row in db.session.execute(
                sa.select(Idea.text, Contribution.idempotency_key, AuditEvent.user_id)
                .select_from(Contribution).join(Idea, isouter=True)
                .join(AuditEvent, sa.and_(AuditEvent.action == "mitreden-paper",
                                          AuditEvent.object_id == sa.cast(Contribution.id, sa.String)), isouter=True)
                .where(Contribution.channel == Channel.PAPER, ~Contribution.idempotency_key.startswith("demo-"))
                .order_by(Contribution.id))]
        finally:
            db.session.remove()


def test_a_volunteer_types_two_cards_the_second_without_network(browser, live_server, live_app):
    context = browser.new_context(viewport=TABLET, base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    email = next(u for u in DEMO_USERS if u[1] == "staff")[0]
    sign_in_demo(page, "staff")
    page.goto("/staff/")
    page.get_by_role("link", name="Papierkarten eintippen").click()
    page.locator("main .planning a.button").first.click()
    page.wait_for_url("**/admin/mitreden/*/papier")
    stop = page.locator("#paper_stop option").nth(1).get_attribute("value")

    def card(idea: str) -> str:
        assert _form_is_empty(page)
        page.locator("#mitreden-form input[type=radio]").first.check()
        page.fill("#mitreden-form textarea[name=idea]", idea)
        key = page.locator("#mitreden-form input[name=idempotency_key]").input_value()
        page.locator("#mitreden-form button[type=submit]").click()
        return key

    page.select_option("#paper_stop", stop)
    first = card("Karte eins: mehr Kurse am Abend")
    expect(page.locator(".flashes")).to_contain_text("Die Papierkarte ist gespeichert.")
    expect(page.locator("#mitreden-form textarea[name=idea]")).to_have_value("")
    expect(page.locator("#paper_stop")).to_have_value(stop)

    go_offline(context, live_server)
    second = card("Karte zwei: ohne Netz getippt")
    kept = page.locator(".paper-kept")
    expect(kept).to_contain_text("Karte gespeichert. 1 Karte wartet auf das Netz.")
    expect(page.locator("#mitreden-form")).to_be_visible()
    assert _form_is_empty(page)
    expect(page.locator("#paper_stop")).to_have_value(stop)
    new_key = page.locator("#mitreden-form input[name=idempotency_key]").input_value()
    assert new_key not in ("", first, second)
    # The kept card is in the tablet's list, so a refusal later would be seen there.
    expect(page.locator("#outbox .outbox__item--waiting")).to_have_count(1)
    # The card fits the tablet's screen: no scrolling sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path="/tmp/paper-offline-waiting.png")
    assert [a[1] for a in _paper_answers(live_app)] == [first]

    go_online(context, live_server)
    expect(kept).to_contain_text("Karte gespeichert. Alle Karten sind gesendet.", timeout=30_000)
    # Sending once more (a second trigger, the worker) changes nothing: the key counts the card once.
    page.evaluate("Outbox.flush({force: true})")
    poll(page, "async () => (await Outbox.all()).every(i => i.state !== 'waiting')")

    answers = _paper_answers(live_app)
    user_id = None
    with live_app.app_context():
        from busapp.core.extensions import db
        from busapp.models import User

        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        db.session.remove()
    assert answers == [("Karte eins: mehr Kurse am Abend", first, user_id),
                       ("Karte zwei: ohne Netz getippt", second, user_id)]
    context.close()


def test_a_prepared_tablet_opens_the_card_form_without_network_though_it_was_never_opened(browser, bus):
    """The tablet prepared the day with network; the card form was never opened. Without network it opens from
    the tablet's copy, a card typed there is kept, and once the network is back it arrives exactly once."""
    from datetime import timedelta

    from busapp.core.extensions import db
    from busapp.models import utcnow
    from busapp.participation.models import Channel, Consultation, Contribution, Idea

    app, server, _ids = bus
    with app.app_context():
        now = utcnow()
        consultation = Consultation(title="Digitales Lübeck", idea_question="Was soll digital einfacher werden?",
                                    starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=10))
        db.session.add(consultation)
        db.session.commit()
        db.session.remove()
    context, page = new_tablet(browser, server.url, "Tablet Karten")
    page.goto(server.url + "/staff/")
    wait_pages_kept(page)
    go_offline(context, server)
    page.goto(server.url + "/admin/mitreden/papier")
    page.get_by_role("link", name="Digitales Lübeck").click()
    page.wait_for_url("**/admin/mitreden/*/papier")
    expect(page.locator("#mitreden-form")).to_be_visible()
    key = page.locator("#mitreden-form input[name=idempotency_key]").input_value()
    page.fill("#mitreden-form textarea[name=idea]", "Karte ohne Netz: WLAN in der Bücherei")
    page.locator("#mitreden-form button[type=submit]").click()
    expect(page.locator(".paper-kept")).to_contain_text("Karte gespeichert. 1 Karte wartet auf das Netz.")
    # Opened again from the copy, the form's first card has a key of its own, not the copy's.
    page.reload()
    assert page.locator("#mitreden-form input[name=idempotency_key]").input_value() not in ("", key)
    page.fill("#mitreden-form textarea[name=idea]", "Zweite Karte: Hilfe beim Online-Banking")
    page.locator("#mitreden-form button[type=submit]").click()
    expect(page.locator(".paper-kept")).to_contain_text("Karte gespeichert. 2 Karten warten auf das Netz.")
    go_online(context, server)
    expect(page.locator(".paper-kept")).to_contain_text("Alle Karten sind gesendet.", timeout=30_000)
    with app.app_context():
        ideas = sorted(db.session.scalars(sa.select(Idea.text).join(Contribution)
                                          .where(Contribution.channel == Channel.PAPER)))
        db.session.remove()
    assert ideas == ["Karte ohne Netz: WLAN in der Bücherei", "Zweite Karte: Hilfe beim Online-Banking"]
    context.close()
