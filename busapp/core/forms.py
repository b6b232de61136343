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


def may_be_left_empty(field) -> bool:
    """Whether a form field may be left empty, so that its label says "(optional)": the form macros ask this.

    A required field never; a drop-down list only when it offers an empty choice ("not known", "none"), since
    otherwise something is always chosen; a tick box never (not ticking is an answer); any other field, a group of
    round buttons included (none may be pressed), when it is not required."""
    from wtforms import BooleanField, RadioField
    from wtforms.fields.choices import SelectFieldBase

    if field.flags.required:
        return False
    if isinstance(field, BooleanField):
        return False
    if isinstance(field, SelectFieldBase) and not isinstance(field, RadioField):
        return any(choice[0] in ("", None) for choice in field.iter_choices())
    return True
