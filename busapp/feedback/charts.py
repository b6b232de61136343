"""Horizontal bar charts as plain SVG drawn on the server: no chart library, no script, scales to any width."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 640
ROW = 34
BAR = 22
LABEL_WIDTH = 250
VALUE_WIDTH = 70
PAD = 8
MAX_LABEL = 30


def _shorten(text: str) -> str:
    # The table beside the chart carries the full label; the chart must stay readable.
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def bar_chart(rows: Sequence[tuple[str, float]], scale_max: float | None = None,
              fmt: Callable[[float], str] = str, title: str = "", rtl: bool | None = None) -> Markup:
    """One bar per (label, value); `scale_max` fixes the scale (5 for ratings), else the largest value.

    Right to left (Arabic, Persian; by default when the page is), the chart is mirrored: labels on the right, bars
    growing to the left, values at their left end. The SVG is hidden from assistive technology: the page puts a
    table with the same figures beside it."""
    if rtl is None:
        from flask import has_request_context

        from ..core.i18n import text_direction

        rtl = has_request_context() and text_direction() == "rtl"
    rows = list(rows)
    top = scale_max if scale_max else max((value for _, value in rows), default=0) or 1
    track = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 2 * PAD
    height = max(len(rows), 1) * ROW + 2 * PAD
    # direction="ltr": the coordinates below place every text themselves; inherited from a right-to-left page, the
    # direction would turn "start" and "end" round and push the labels into the bars.
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'aria-hidden="true" focusable="false" font-size="15" direction="ltr">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, (label, value) in enumerate(rows):
        y = PAD + i * ROW
        length = 0 if not value else max(track * min(value / top, 1), 2)
        if rtl:
            axis = WIDTH - LABEL_WIDTH
            parts.append(
                f'<text class="chart__label" x="{axis + PAD}" y="{y + ROW / 2:.1f}" text-anchor="start" '
                f'dominant-baseline="middle" fill="#1a1a1a">{escape(_shorten(str(label)))}</text>'
                f'<rect class="chart__bar" x="{axis - length:.1f}" y="{y + (ROW - BAR) / 2:.1f}" width="{length:.1f}" '
                f'height="{BAR}" fill="#0b4f6c"/>'
                f'<text class="chart__value" x="{axis - length - PAD:.1f}" y="{y + ROW / 2:.1f}" text-anchor="end" '
                f'dominant-baseline="middle" fill="#1a1a1a">{escape(fmt(value))}</text>'
            )
            continue
        parts.append(
            f'<text class="chart__label" x="{LABEL_WIDTH - PAD}" y="{y + ROW / 2:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="#1a1a1a">{escape(_shorten(str(label)))}</text>'
            f'<rect class="chart__bar" x="{LABEL_WIDTH}" y="{y + (ROW - BAR) / 2:.1f}" width="{length:.1f}" '
            f'height="{BAR}" fill="#0b4f6c"/>'
            f'<text class="chart__value" x="{LABEL_WIDTH + length + PAD:.1f}" y="{y + ROW / 2:.1f}" '
            f'dominant-baseline="middle" fill="#1a1a1a">{escape(fmt(value))}</text>'
        )
    axis = WIDTH - LABEL_WIDTH if rtl else LABEL_WIDTH
    parts.append(
        f'<line x1="{axis}" y1="{PAD / 2}" x2="{axis}" y2="{height - PAD / 2}" '
        f'stroke="#444" stroke-width="1"/></svg>'
    )
    return Markup("".join(parts))
