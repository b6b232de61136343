"""Texts in several languages as CSV columns, shared by the tour file (busapp/planning/tourcsv.py) and the course
catalogue's file (busapp/planning/coursecsv.py).

A row's texts in its own language stay in its own columns (`workshop_title`, or a course's `title`); the same texts
in every offered language (the LANGUAGES setting) are a column each, named after the text and the language's tag:
`title_tr`, `description_ar`, `bring_de-x-ls`. An empty cell leaves a language out. A cell in the row's own language
may repeat its own text, or give it where the own column is empty; a different text is an error, since it is not
clear which one is meant. A column named like a text of a language the site does not offer is an error naming the
languages it does.
"""
from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _

from ..core.forms import clean_text


def languages() -> list[str]:
    """The offered languages (the LANGUAGES setting), in its order: one column per text for each."""
    return list(current_app.config["LANGUAGES"])


class TextColumns:
    """The language columns of one kind of row: its texts' own columns ({field: column}) and their limits."""

    def __init__(self, own_columns: dict[str, str], limits: dict[str, int]):
        self.own_columns = own_columns
        self.limits = limits
        self.fields = tuple(own_columns)
        self.pattern = re.compile("(" + "|".join(map(re.escape, self.fields)) + r")_(.+)")

    def columns(self) -> list[str]:
        """Every language column, language by language."""
        return [f"{field}_{tag.lower()}" for tag in languages() for field in self.fields]

    def header_problem(self, name: str) -> str | None:
        """For a header column: None when it is not named like a text column, "" for a known language's column,
        else the message for a language the site does not offer."""
        match = self.pattern.fullmatch(name)
        if match is None:
            return None
        names = current_app.config["LANGUAGES"]
        if match.group(2) in {tag.lower() for tag in names}:
            return ""
        example = next((tag for tag in names if tag != current_app.config["BABEL_DEFAULT_LOCALE"]), "de").lower()
        return _("“%(tag)s” is not a language of this site. Known languages: %(tags)s. Name the column after the "
                 "text and one of them, for example %(example)s.", tag=match.group(2),
                 tags=", ".join(f"{tag} ({label})" for tag, label in names.items()),
                 example=f"{match.group(1)}_{example}")

    def read(self, row: dict, own: str) -> tuple[dict, dict, list[tuple[str, str]]]:
        """A row's texts: its own ({field: text}, from its own columns or, where those are empty, the columns of
        its own language), the others as a `texts` value ({tag: {field: text}}), and what is wrong as
        (column, message)."""
        problems: list[tuple[str, str]] = []
        mine = {field: clean_text(row.get(column)) for field, column in self.own_columns.items()}
        given = {field for field, text in mine.items() if text}
        texts: dict = {}
        for tag in languages():
            for field in self.fields:
                column = f"{field}_{tag.lower()}"
                value = clean_text(row.get(column))
                if not value:
                    continue
                if tag != own:
                    texts.setdefault(tag, {})[field] = value
                elif not mine[field]:
                    mine[field] = value
                elif value != mine[field]:
                    problems.append((column, _(
                        "“%(column)s” already holds this text in its own language, and it says something else. Leave "
                        "this cell empty or give the same text.", column=self.own_columns[field])))
        for tag, entry in [(own, mine)] + list(texts.items()):
            for field, value in entry.items():
                if len(value) > self.limits[field]:
                    column = self.own_columns[field] if entry is mine and field in given else f"{field}_{tag.lower()}"
                    problems.append((column, _("Please use at most %(max)d characters.", max=self.limits[field])))
        return mine, texts, problems

    def cells(self, texts: dict | None, own: str) -> list[str]:
        """A row's texts in every offered language, in the order of columns(); its own language's cells stay
        empty (its texts are in its own columns)."""
        texts = texts or {}
        return ["" if tag == own else (texts.get(tag) or {}).get(field, "")
                for tag in languages() for field in self.fields]
