"""The course catalogue as CSV: every course template with its texts in every offered language, to be translated in
a spreadsheet (or by a translator who has no account) and read back.

Columns
    title, topic, audience, level, language, duration_minutes, capacity, walk_ins, active, description,
    what_to_bring, then title_<tag>, description_<tag>, what_to_bring_<tag> for each offered language
    (planning/textcolumns.py). Topic, audience, level and language are written as the course form's keys
    (smartphone_basics, seniors, first_steps, de), walk_ins and active as yes or no.

Reading
    As the tour file: UTF-8 with or without a byte order mark, else Latin-1; `;` or `,` as the header line uses.
    The course columns must all be there (a file this app wrote has them); of the language columns any may be left
    out, and a course then keeps its texts in those languages. Each row changes the course of the same title
    (letter case aside), or adds a course when there is none; courses not in the file stay as they are. All or
    nothing: when any row is wrong nothing is written, and each problem is named by line and column. The file is
    checked before the planning lock is taken; under it the titles are matched and everything is written in one
    transaction.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from ..core import csvexport
from ..core.choices import AUDIENCES, LEVELS, TOPICS, WORKSHOP_LANGUAGES
from ..core.extensions import db
from ..core.forms import clean_text
from ..models import Course, User, audit
from . import service, textcolumns, tourcsv, writes

COLUMNS = ("title", "topic", "audience", "level", "language", "duration_minutes", "capacity", "walk_ins", "active",
           "description", "what_to_bring")
COURSE_TEXTS = textcolumns.TextColumns({"title": "title", "description": "description",
                                        "what_to_bring": "what_to_bring"},
                                       {"title": 160, "description": 2000, "what_to_bring": 300})
MAX_ROWS = 1000
MAX_BYTES = 1024 * 1024


@dataclass
class Problem:
    line: int
    column: str
    message: str


@dataclass
class Reading:
    """What a file would do: the courses' values by line, or what is wrong."""

    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line, values for Course, texts included)
    problems: list[Problem] = field(default_factory=list)
    # The language columns the file has: only these languages' texts are changed.
    columns: set[tuple[str, str]] = field(default_factory=set)
    added: int = 0
    changed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)


def export(courses: list[Course]) -> str:
    """The courses (active or not) as CSV text, with their texts in every offered language."""
    out = io.StringIO()
    writer = csvexport.SafeWriter(out)
    writer.writerow(list(COLUMNS) + COURSE_TEXTS.columns())
    for c in courses:
        writer.writerow([c.title, c.topic, c.audience, c.level, c.language, c.duration_minutes, c.capacity,
                         "yes" if c.walk_ins else "no", "yes" if c.active else "no", c.description or "",
                         c.what_to_bring or ""] + COURSE_TEXTS.cells(c.texts, c.language))
    return out.getvalue()


def _choice(line: int, row: dict, column: str, known, problems: list[Problem]) -> str:
    value = row.get(column, "")
    if value not in known:
        problems.append(Problem(line, column, _("“%(text)s” is not known here. Known: %(keys)s", text=value,
                                                keys=", ".join(known))))
    return value


def _number(line: int, row: dict, column: str, low: int, high: int, problems: list[Problem]) -> int | None:
    try:
        value = int(row.get(column, ""))
    except ValueError:
        problems.append(Problem(line, column, _("“%(text)s” is not a whole number.", text=row.get(column, ""))))
        return None
    if not low <= value <= high:
        problems.append(Problem(line, column, _("Please give between %(min)d and %(max)d.", min=low, max=high)))
    return value


def _yes(line: int, row: dict, column: str, problems: list[Problem]) -> bool:
    value = (row.get(column) or "yes").lower()
    if value not in tourcsv.YES + tourcsv.NO:
        problems.append(Problem(line, column, _("“%(text)s”: please write yes or no.", text=value)))
    return value in tourcsv.YES


def read(data: bytes) -> Reading:
    """Parse and check a course file without writing anything."""
    text = tourcsv.decode(data)
    header_line = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text, newline=""),
                            delimiter=";" if header_line.count(";") > header_line.count(",") else ",")
    header = [(h or "").strip().strip("\ufeff").strip().lower() for h in (reader.fieldnames or [])]
    reading = Reading()
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        reading.problems.append(Problem(1, ", ".join(missing), _("These columns are missing.")))
    for name in header:
        if not name or name in COLUMNS:
            continue
        problem = COURSE_TEXTS.header_problem(name)
        if problem is None:
            reading.problems.append(Problem(1, name, _("This column is not known. Known columns: %(cols)s",
                                                       cols=", ".join(COLUMNS))))
        elif problem:
            reading.problems.append(Problem(1, name, problem))
        else:
            text_field, tag = COURSE_TEXTS.pattern.fullmatch(name).groups()
            reading.columns.add((next(t for t in textcolumns.languages() if t.lower() == tag), text_field))
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        reading.problems.append(Problem(1, ", ".join(twice), _("These columns are given twice.")))
    if reading.problems:
        return reading
    reader.fieldnames = header
    titles: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            reading.problems.append(Problem(line, "", _("A file may have at most %(n)d rows.", n=MAX_ROWS)))
            break
        if None in raw or any(v is None for v in raw.values()):
            reading.problems.append(Problem(line, "", _(
                "This line has not as many values as the first line has columns. Nothing of this line was read.")))
            continue
        row = {k: csvexport.restore((v or "").strip()) for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        problems: list[Problem] = []
        language = _choice(line, row, "language", WORKSHOP_LANGUAGES, problems)
        values = {
            "topic": _choice(line, row, "topic", tuple(TOPICS), problems),
            "audience": _choice(line, row, "audience", tuple(AUDIENCES), problems),
            "level": _choice(line, row, "level", tuple(LEVELS), problems),
            "language": language,
            "duration_minutes": _number(line, row, "duration_minutes", 1, service.MAX_WORKSHOP_MINUTES, problems),
            "capacity": _number(line, row, "capacity", service.MIN_CAPACITY, service.MAX_CAPACITY, problems),
            "walk_ins": _yes(line, row, "walk_ins", problems),
            "active": _yes(line, row, "active", problems),
        }
        own, texts, text_problems = COURSE_TEXTS.read(row, language)
        problems.extend(Problem(line, column, message) for column, message in text_problems)
        if not own["title"]:
            problems.append(Problem(line, "title", _("Please give the course a title.")))
        key = clean_text(own["title"]).lower()
        if key in titles:
            problems.append(Problem(line, "title", _("The course “%(title)s” is already in line %(n)d.",
                                                     title=own["title"], n=titles[key])))
        titles.setdefault(key, line)
        reading.problems.extend(problems)
        if not problems:
            reading.rows.append((line, values | own | {"texts": texts}))
    if not reading.rows and not reading.problems:
        reading.problems.append(Problem(1, "", _("The file has no courses.")))
    return reading


def write(data: bytes, user: User | None) -> Reading:
    """Read the file and, when every row is right, change and add its courses in one transaction."""
    reading = read(data)
    if not reading.ok:
        return reading
    writes.lock()
    known: dict[str, Course] = {}
    for course in db.session.scalars(sa.select(Course).order_by(Course.id)):
        known.setdefault(course.title.strip().lower(), course)  # two of one title: the older one
    for _line, values in reading.rows:
        course = known.get(values["title"].lower())
        if course is None:
            course = Course(texts={})
            db.session.add(course)
            reading.added += 1
        texts = {tag: dict(entry) for tag, entry in (course.texts or {}).items()}
        for tag, text_field in reading.columns:  # the languages the file has replace the course's
            if tag == values["language"]:
                continue
            text = (values["texts"].get(tag) or {}).get(text_field)
            if text:
                texts.setdefault(tag, {})[text_field] = text
            else:
                (texts.get(tag) or {}).pop(text_field, None)
        texts.pop(values["language"], None)  # its own language's texts are its own columns
        before = {k: getattr(course, k) for k in service.COURSE_FIELDS + ("active", "texts")}
        for name in service.COURSE_FIELDS + ("active",):
            setattr(course, name, values[name])
        course.texts = {tag: entry for tag, entry in texts.items() if entry}
        after = {k: getattr(course, k) for k in service.COURSE_FIELDS + ("active", "texts")}
        if course.id is not None and before != after:
            reading.changed += 1
    db.session.flush()
    audit("course-import", None, user=writes.user_in_session(user), added=reading.added, changed=reading.changed,
          rows=len(reading.rows))
    db.session.commit()
    return reading
