"""The one CSV writer every download uses, so that no cell reaches a spreadsheet program as a formula.

Names, notes, titles and addresses in these files were typed by anonymous residents or came from imported files.
A spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` (and, after a tab or carriage return, what
follows) as a formula: `=HYPERLINK("http://…?"&A1, "Details")` sends the row next to it to another host when a
coordinator clicks. Such a cell is written with a leading apostrophe, which spreadsheet programs read as "this is
text" and do not show. Numbers stay numbers: only text is changed. `restore()` undoes it for the tour import, so an
exported tour reads back as it was.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # tells spreadsheet programs that the file is UTF-8, so umlauts arrive intact


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet must see it: text that starts like a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The text safe_cell() was given (for reading back a file this app wrote)."""
    if value[:1] == "'" and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


class SafeWriter:
    """csv.writer whose rows always pass through safe_cell()."""

    def __init__(self, out: io.StringIO, delimiter: str = ";") -> None:
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def text(header: Iterable[Any], rows: Iterable[Iterable[Any]], *, delimiter: str = ";", bom: bool = False) -> str:
    """A whole CSV file as text: the header, then the rows, every cell made safe."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = SafeWriter(out, delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def download(body: str, filename: str) -> Response:
    """A CSV file with personal or internal data as a download that no cache keeps."""
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
