"""Mail texts are templates (templates/mail/*.txt) rendered in the person's language: the booking's. A change
note names the workshop by its title in that language, as the ticket page does."""
from __future__ import annotations

import ast
import uuid
from pathlib import Path

import sqlalchemy as sa

from busapp.booking import service as booking_service
from busapp.core.content import set_text
from busapp.core.extensions import db
from busapp.models import OutgoingMail
from busapp.planning import changes

ROOT = Path(__file__).resolve().parents[2]


def _book(app, workshop, name, locale):
    with app.test_request_context("/"):
        return booking_service.create(workshop.id, party_size=1, name=name, contact=f"{name.lower()}@example.org",
                                      needs_note=None, idempotency_key=uuid.uuid4().hex, locale=locale).booking


def test_a_cancellation_reaches_each_person_in_their_language_with_the_title_in_it(app, make_workshop):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_FROM="digitalbus@luebeck.example")
    workshop = make_workshop(title="Videoanrufe mit der Familie")
    set_text(workshop, "en", title="Video calls with the family")
    db.session.commit()
    sam, anna = _book(app, workshop, "Sam", "en"), _book(app, workshop, "Anna", "de")
    changes.cancel(workshop.stop_id, workshop.id, "Die Trainerin ist krank.", None)

    mails = {m.booking_id: m for m in db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.kind == "workshop-cancelled"))}
    english, german = mails[sam.id], mails[anna.id]
    assert english.subject == "Cancelled: Video calls with the family"
    assert english.body.startswith("Hello,\n\nWe are sorry: “Video calls with the family” is cancelled.")
    assert "Workshop: Video calls with the family" in english.body and "Videoanrufe" not in english.body
    assert german.subject == "Abgesagt: Videoanrufe mit der Familie"
    assert german.body.startswith("Hallo,\n\n") and "Die Trainerin ist krank." in german.body
    assert english.body.endswith("\n\nYour digital workshop bus team\n")


def test_no_mail_sentence_is_written_in_python():
    for path in ("busapp/booking/notify.py", "busapp/planning/changes.py"):
        tree = ast.parse((ROOT / path).read_text())
        sentences = [n.args[0].value for n in ast.walk(tree)
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_"
                     and n.args and isinstance(n.args[0], ast.Constant) and str(n.args[0].value).startswith(("Hello", "Workshop:", "your seat"))]
        assert sentences == [], path
    assert {p.name for p in (ROOT / "templates/mail").glob("booking_*.txt")} >= {
        "booking_confirmation.txt", "booking_promotion.txt", "booking_reminder.txt", "booking_change.txt"}
