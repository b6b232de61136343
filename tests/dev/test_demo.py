"""The demo tour follows the planning rules, so a coordinator can edit any demo workshop as it is."""
from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from busapp.dev import demo
from busapp.core.extensions import db
from busapp.models import Workshop, WorkshopStatus
from busapp.planning import service


def draft_of(workshop: Workshop) -> service.WorkshopDraft:
    return service.WorkshopDraft(
        title=workshop.title, topic=workshop.topic, starts_at=workshop.starts_at,
        duration_minutes=workshop.duration_minutes, capacity=workshop.capacity,
        description=workshop.description or "", language=workshop.language, audience=workshop.audience,
        accessibility_notes=workshop.accessibility_notes or "", parallel=workshop.parallel)


def check_every_workshop(app) -> int:
    checked = 0
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for workshop in db.session.scalars(sa.select(Workshop).where(Workshop.status != WorkshopStatus.CANCELLED)):
            assert service.check_workshop(workshop.stop, draft_of(workshop), workshop) == {}, (
                workshop.title, workshop.stop.starts_at, workshop.starts_at)
            checked += 1
    return checked


def test_every_demo_workshop_passes_the_planning_rules_unchanged(app):
    demo.load(with_users=False)
    counts = demo.load(with_users=False)  # loading twice replaces the tour, it does not add to it
    cancelled = db.session.scalar(sa.select(sa.func.count()).select_from(Workshop)
                                  .where(Workshop.status == WorkshopStatus.CANCELLED))
    assert cancelled == 1  # one workshop is cancelled on its own (a trainer ill)
    assert check_every_workshop(app) == counts["workshops"] - cancelled > 0


def test_every_workshop_of_the_large_demo_passes_the_planning_rules(app):
    demo.load_large(40, with_users=False)
    assert check_every_workshop(app) == 80


def test_the_demo_courses_carry_their_texts_in_other_languages_into_their_workshops(app, client):
    """Coordinators find the catalogue translated, the workshops made from it start with its texts, and a visitor
    reads them: a Turkish stop page shows the course's Turkish "please bring"; the cancelled stop and the cancelled
    workshop give their reasons in Turkish."""
    from busapp.models import Course, Stop, StopStatus

    app.config["PAGE_CACHE_SECONDS"] = 0
    demo.load(with_users=False)
    courses = {c.title: c for c in db.session.scalars(sa.select(Course))}
    course = courses["Das Smartphone kennenlernen"]
    assert course.texts["tr"] == {"title": "Akıllı telefonu tanıyalım",
                                  "description": course.texts["tr"]["description"],
                                  "what_to_bring": "Telefonunuz ve şarj kablosu, gözlüğünüz"}
    # A course held in Turkish has its own texts in Turkish and the German among its translations.
    turkish = courses["Akıllı telefon: ilk adımlar"]
    assert turkish.what_to_bring == "Telefonunuz ve şarj kablosu, gözlüğünüz"
    assert turkish.texts["de"]["what_to_bring"] == demo.BRING_DEFAULT
    for workshop in db.session.scalars(sa.select(Workshop)):
        made_from = courses[workshop.title]
        assert workshop.bring == made_from.what_to_bring and workshop.description == made_from.description
        assert {tag: entry.get("bring") for tag, entry in workshop.texts.items() if entry.get("bring")} == \
            {tag: entry["what_to_bring"] for tag, entry in made_from.texts.items() if "what_to_bring" in entry}

    stop = db.session.scalars(sa.select(Stop).join(Workshop).where(  # the last such stop: weeks ahead
        Stop.status == StopStatus.PUBLISHED, Workshop.title == "Das Smartphone kennenlernen")
        .order_by(Stop.starts_at.desc())).first()
    page = client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)
    assert "Akıllı telefonu tanıyalım" in page and "Telefonunuz ve şarj kablosu, gözlüğünüz" in page

    cancelled = db.session.scalar(sa.select(Stop).where(Stop.status == StopStatus.CANCELLED))
    assert "Otobüs tamirde." in client.get(f"/s/{cancelled.id}?lang=tr").get_data(as_text=True)
    workshop = db.session.scalar(sa.select(Workshop).where(Workshop.status == WorkshopStatus.CANCELLED))
    assert workshop.texts["tr"]["cancel_reason"] == demo.WORKSHOP_CANCEL_REASON_TEXTS["tr"]


def test_the_demo_tour_loads_for_a_new_town_with_two_districts(_schema, database_url, tmp_path):
    """A town's IT tries its new profile with `flask seed-demo` (README, "Run it for your town") while its list has
    only a couple of districts: the tour and the Mitreden answers spread over the districts there are."""
    from busapp import create_app
    from busapp.core import townprofile
    from busapp.models import District
    from tests.conftest import _driver, _empty_tables

    folder = tmp_path / "kleinhausen"
    assert CliRunner().invoke(townprofile.init_command, ["Kleinhausen", "--folder", str(folder)]).exit_code == 0
    toml = folder / "town.toml"
    text = toml.read_text(encoding="utf-8")
    for old, new in (('state = ""', 'state = "Niedersachsen"'), ('holidays = ""', 'holidays = "NI"'),
                     ('law = ""', 'law = "NBGG"'), ('enforcement_name = ""', 'enforcement_name = "Schlichtungsstelle"'),
                     ('enforcement_url = ""', 'enforcement_url = "https://schlichtung.example"')):
        text = text.replace(old, new, 1)
    toml.write_text(text, encoding="utf-8")
    (folder / "districts.csv").write_text("Nr;Stadtteil;Breite;Länge\n01;Mitte;52.1;9.9\n02;Nord;52.2;9.9\n",
                                          encoding="utf-8")
    app = create_app({"APP_ENV": "testing", "TOWN": str(folder), "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    with app.app_context():
        try:
            _empty_tables()
            made = demo.load()
            assert made["districts"] == 2 and made["stops"] > 0
            assert sorted(db.session.scalars(sa.select(District.name))) == ["Mitte", "Nord"]
        finally:
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
