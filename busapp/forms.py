"""Form helpers shared by the features."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # PostgreSQL refuses NUL in text; the rest is noise


def clean_text(value: str | None) -> str:
    """Trimmed text with Windows line ends unified and control characters removed (a WTForms filter)."""
    if not value or not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def typed_id(value: str | None) -> int | None:
    """The id a form or query names, or None for anything that is not one (an id no database key can hold
    included, so that a 30-digit number is "not found", never an overflow)."""
    if not value or not isinstance(value, str) or not value.isdigit() or len(value) > 9:
        return None
    return int(value)
