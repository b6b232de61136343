"""Mitreden's open data: the published ideas with the city's status and answer (/mitreden/ideen.json and .csv), and
the same ideas in the columns Decidim's "import proposals from a file" reads (/mitreden/decidim.csv and .json), so
the city can carry them into its participation platform.

Nothing here says who wrote an idea: no channel, stop, district, age group, internet use, device or flag; only what
the public page shows. Ideas that are new, hidden or merged into another are left out.

Decidim's columns
    Decidim (decidim-proposals, Import::ProposalCreator and ProposalsVerifier) reads `title/<locale>` and
    `body/<locale>` for its organisation's languages, and requires both for its default language; `id` it ignores.
    Its CSV reader splits on ";" and takes the first line as the header, so the file has no byte-order mark; its
    JSON reader takes a list of flat objects with the same keys. The default language here is German: `title/de`
    and `body/de` always hold the idea (in the language it was written in, which the body names when that is
    another), the body adds the topic, the supporters, the city's status and answer and where it was collected;
    an idea written in another language is repeated in that language's columns, with the city's answer in it
    where one was given. Scopes, categories and addresses need Decidim's own ids and are left to its admins.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, request
from flask_babel import force_locale, gettext as _

from ..core import csvexport
from ..core.extensions import db
from ..core.i18n import catalogue_id
from ..models import AuditEvent
from . import bp, service
from .models import Consultation, Idea, Moderation, Support

OPEN_COLUMNS = ("id", "consultation_id", "consultation", "topic", "text", "correction", "status", "answer",
                "supports", "date")
DECIDIM_DEFAULT = "de"
TITLE_MAX = 150  # Decidim's default limit for a proposal's title


def published(consultation_id: int | None = None) -> tuple[dict[int, Consultation], list[Idea]]:
    """Consultations that have started (one, when asked for) and their published ideas."""
    running, past = service.open_and_past(service.now())
    consultations = {c.id: c for c in running + past if consultation_id in (None, c.id)}
    return consultations, service.published_ideas(list(consultations))


def open_rows() -> list[dict]:
    """Published ideas as the public page shows them."""
    consultations, ideas = published()
    return [{
        "id": idea.id, "consultation_id": idea.consultation_id, "consultation": consultations[idea.consultation_id].title,
        "topic": idea.topic, "text": idea.text, "correction": idea.correction_note, "status": idea.status.value,
        "answer": idea.answer, "supports": idea.supports, "date": idea.created_at.date().isoformat(),
    } for idea in ideas]


@bp.get("/mitreden/ideen.json")
def ideas_json():
    """Published ideas with the city's status and answer, as open data (JSON)."""
    return jsonify(ideas=open_rows(), license=current_app.config["OPENDATA_LICENSE"])


@bp.get("/mitreden/ideen.csv")
def ideas_csv():
    """The same as CSV, through the app's one CSV writer."""
    rows = [[row[c] for c in OPEN_COLUMNS] for row in open_rows()]
    return csvexport.download(csvexport.text(OPEN_COLUMNS, rows, bom=True), "mitreden-ideen.csv")


FIGURE_COLUMNS = ("consultation_id", "consultation", "section", "answer", "count")


def figures() -> list[dict]:
    """Each started consultation's figures, as the board's report counts them (how many answered, by channel,
    district, stop, language, age group and internet use, and each choice question), in German: counts of answers,
    never an answer itself."""
    consultations, _ideas = published()
    out = []
    with force_locale("de"):
        for c in sorted(consultations.values(), key=lambda c: (c.starts_at, c.id)):
            out.append({"consultation_id": c.id, "consultation": c.title,
                        "starts": c.starts_at.date().isoformat(), "ends": c.last_moment.date().isoformat(),
                        "figures": [{"section": str(section), "answer": str(answer), "count": n}
                                    for section, answer, n in service.figure_rows(service.report(c, "de"))]})
    return out


@bp.get("/mitreden/zahlen.json")
def figures_json():
    """The consultations' figures as open data (JSON)."""
    return jsonify(consultations=figures(), license=current_app.config["OPENDATA_LICENSE"])


@bp.get("/mitreden/zahlen.csv")
def figures_csv():
    """The same as CSV, one row per figure."""
    rows = [[c["consultation_id"], c["consultation"], f["section"], f["answer"], f["count"]]
            for c in figures() for f in c["figures"]]
    return csvexport.download(csvexport.text(FIGURE_COLUMNS, rows, bom=True), "mitreden-zahlen.csv")


# --- Decidim ------------------------------------------------------------------------------------------------------

def _language(tag: str) -> str:
    """Decidim's locale for an idea's language: the language part (Leichte Sprache is German)."""
    return tag.partition("-")[0].lower() or DECIDIM_DEFAULT


def decidim_title(text: str) -> str:
    """The idea's first line, at most TITLE_MAX characters, cut at a word."""
    first = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    first = first.lstrip("=+-@ ") or first  # a title that starts like a formula would reach Decidim with a "'"
    if len(first) <= TITLE_MAX:
        return first
    cut = first[:TITLE_MAX - 1].rsplit(" ", 1)[0] or first[:TITLE_MAX - 1]
    return cut + "…"


def _body(idea: Idea, consultation: Consultation, locale: str) -> str:
    """The idea and what the city knows about it, in `locale` (the words; the idea stays as written)."""
    with force_locale(catalogue_id(locale) if locale in current_app.config["LANGUAGES"] else "de"):
        lines = [idea.text.strip(), ""]
        if _language(idea.locale) != locale:
            lines.append(_("Written in: %(language)s", language=service.language_name(idea.locale)))
        if idea.correction_note:
            lines.append(_("Corrected by the city:") + " " + idea.correction_note)
        if idea.topic:
            lines.append(_("Topic: %(topic)s", topic=idea.topic))
        lines.append(_("Supporters on the bus's page: %(n)s", n=idea.supports))
        status = str(service.STATUSES[idea.status])
        answer = (idea.answer_texts or {}).get(idea.locale) if locale != DECIDIM_DEFAULT else ""
        answer = answer or idea.answer
        lines.append(_("The city's status: %(status)s", status=status) + (f" – {answer}" if answer else ""))
        lines.append(_("Collected with the %(site)s, %(consultation)s, %(day)s",
                       site=current_app.config["SITE_NAME"], consultation=consultation.title,
                       day=idea.created_at.date().isoformat()))
    return "\n".join(lines).strip()


def decidim_rows(consultation_id: int | None = None) -> tuple[list[str], list[dict]]:
    """The header and one row per published idea in Decidim's import columns."""
    consultations, ideas = published(consultation_id)
    others = sorted({_language(i.locale) for i in ideas} - {DECIDIM_DEFAULT})
    locales = [DECIDIM_DEFAULT, *others]
    header = ["id", *(f"title/{loc}" for loc in locales), *(f"body/{loc}" for loc in locales)]
    rows = []
    for idea in ideas:
        row = dict.fromkeys(header, "")
        row["id"] = str(idea.id)
        title = decidim_title(idea.text)
        for loc in {DECIDIM_DEFAULT, _language(idea.locale)}:
            row[f"title/{loc}"] = title
            row[f"body/{loc}"] = _body(idea, consultations[idea.consultation_id], loc)
        rows.append(row)
    return header, rows


def _consultation_asked() -> int | None:
    return request.args.get("consultation", type=int)


@bp.get("/mitreden/decidim.csv")
def decidim_csv():
    """Published ideas in Decidim's proposal import columns (";"-separated, UTF-8 without byte-order mark);
    ?consultation=<id> for one consultation."""
    header, rows = decidim_rows(_consultation_asked())
    body = csvexport.text(header, [[row[h] for h in header] for row in rows])
    response = csvexport.download(body, "mitreden-decidim.csv")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/mitreden/decidim.json")
def decidim_json():
    """The same as a JSON list of flat objects, as Decidim's JSON import reads it."""
    _header, rows = decidim_rows(_consultation_asked())
    return jsonify(rows)


# --- the DCAT catalogue ------------------------------------------------------------------------------------------

def dataset() -> dict | None:
    """This data's entry in the open-data catalogue (busapp/opendata/dcat.py), once a consultation has started."""
    consultations, _ideas = published()
    if not consultations:
        return None
    published_only = Idea.moderation == Moderation.PUBLISHED
    first_idea, last_idea, last_correction, last_support, last_decision = db.session.execute(sa.select(
        sa.select(sa.func.min(Idea.created_at)).where(published_only).scalar_subquery(),
        sa.select(sa.func.max(Idea.created_at)).where(published_only).scalar_subquery(),
        sa.select(sa.func.max(Idea.corrected_at)).scalar_subquery(),
        sa.select(sa.func.max(Support.created_at)).scalar_subquery(),
        sa.select(sa.func.max(AuditEvent.at)).where(AuditEvent.action.startswith("mitreden-"))
        .scalar_subquery(),
    )).one()
    started = min(c.starts_at for c in consultations.values())
    issued = first_idea or started
    modified = max(t for t in (issued, last_idea, last_correction, last_support, last_decision) if t is not None)
    site = current_app.config["SITE_NAME"]
    return {
        "key": "mitreden",
        "title": {"de": f"{site}: Mitreden – Ideen für die Digitalstrategie und die Antworten der Stadt",
                  "en": f"{site}: have your say – ideas for the digital strategy and the city's answers"},
        "description": {
            "de": "Die veröffentlichten Ideen, die Bürgerinnen und Bürger am Bus, auf dem Handy und auf Papierkarten "
                  "für die Digitalstrategie der Stadt gegeben haben, mit Thema, Zahl der Unterstützungen, Status und "
                  "Antwort der Stadt; auch in den Spalten, die Decidim beim Import von Vorschlägen liest; dazu die "
                  "Zahlen jeder Befragung (Antworten nach Weg, Stadtteil, Halt, Sprache, Altersgruppe und "
                  "Internetnutzung, und jede Auswahlfrage). Ohne personenbezogene Daten: nichts darüber, wer eine "
                  "Idee gegeben hat.",
            "en": "The published ideas residents gave for the city's digital strategy at the bus, on their phones "
                  "and on paper cards, with topic, number of supporters, status and the city's answer; also in the "
                  "columns Decidim reads when it imports proposals; and each consultation's figures (answers by "
                  "channel, district, stop, language, age group and internet use, and each choice question). No "
                  "personal data: nothing about who gave an idea.",
        },
        "keywords": ["Bürgerbeteiligung", "Beteiligung", "Digitalstrategie", "Ideen", "Teilhabe", "Stadtteile",
                     "Decidim", "participation"],
        "themes": ["GOVE", "SOCI"],
        "issued": issued, "modified": modified,
        "temporal": (started, max(c.ends_at for c in consultations.values())),
        "landing": "/mitreden",
        "formats": (
            ("mitreden-json", "JSON", "application/json", "JSON", "/mitreden/ideen.json", True,
             "Published ideas with topic, supporters, status and the city's answer."),
            ("mitreden-csv", "CSV", "text/csv", "CSV", "/mitreden/ideen.csv", True,
             "The same, one row per idea."),
            ("mitreden-decidim-csv", "CSV (Decidim)", "text/csv", "CSV", "/mitreden/decidim.csv", True,
             "The published ideas in the columns of Decidim's proposal import (title/de, body/de, ...)."),
            ("mitreden-decidim-json", "JSON (Decidim)", "application/json", "JSON", "/mitreden/decidim.json", True,
             "The same as Decidim's JSON import reads it."),
            ("mitreden-zahlen-json", "JSON", "application/json", "JSON", "/mitreden/zahlen.json", True,
             "Each consultation's figures: answers by channel, district, stop, language, age group and internet "
             "use, and each choice question; counts only."),
            ("mitreden-zahlen-csv", "CSV", "text/csv", "CSV", "/mitreden/zahlen.csv", True,
             "The same, one row per figure."),
        ),
    }
