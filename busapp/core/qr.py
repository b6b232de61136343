"""QR codes as small, crisp SVG: one path of merged dark runs, a quiet zone, and error correction M or higher."""
from __future__ import annotations

from functools import lru_cache
from html import escape

import qrcode
from markupsafe import Markup
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_M, ERROR_CORRECT_Q

LEVELS = {"M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
QUIET_ZONE = 4  # modules of white border the QR standard asks for


def matrix(data: str, level: str = "M") -> list[list[bool]]:
    """The module matrix of a QR code for `data`, quiet zone included."""
    code = qrcode.QRCode(error_correction=LEVELS[level], border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


@lru_cache(maxsize=512)
def _drawing(data: str, level: str) -> tuple[int, str]:
    """The code's size in modules and its SVG path. Making a code tries all eight masks and is most of a ticket
    page's work; the same data always gives the same code, so each one (a few kB) is made once per process."""
    rows = matrix(data, level)
    size = len(rows)
    parts = []
    for y, row in enumerate(rows):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return size, "".join(parts)


def svg(data: str, label: str = "", level: str = "M") -> Markup:
    """An SVG QR code that scales to its container (viewBox in modules, crispEdges, no fixed size).

    `label` becomes the accessible name; without one the image is decorative for assistive technology."""
    size, path = _drawing(data, level)
    a11y = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true"'
    title = f"<title>{escape(label)}</title>" if label else ""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges" '
        f'class="qr" {a11y}>{title}<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )


def svg_document(data: str, label: str = "", level: str = "M", size_mm: int | None = None) -> str:
    """A standalone SVG file for download; `size_mm` sets a print size, otherwise it scales freely."""
    body = str(svg(data, label, level))
    if size_mm:
        body = body.replace("<svg ", f'<svg width="{size_mm}mm" height="{size_mm}mm" ', 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
