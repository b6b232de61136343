"""The feedback form residents fill in on their phones, and the coordinators' results filter."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from ..core.choices import TOPICS
from ..core.forms import clean_text

TEXT_MAX = 2000
OTHER_MAX = 200
OTHER = "other"

# The words under the five faces; the number comes first so the scale is clear without the faces.
RATINGS = {
    1: _l("very bad"),
    2: _l("bad"),
    3: _l("okay"),
    4: _l("good"),
    5: _l("very good"),
}

AGE_GROUPS = {
    "under_18": _l("Under 18"),
    "18_29": _l("18 to 29"),
    "30_49": _l("30 to 49"),
    "50_64": _l("50 to 64"),
    "65_79": _l("65 to 79"),
    "80_plus": _l("80 or older"),
}

def int_or_none(value) -> int | None:
    """Coerce a submitted choice to a number; anything else becomes "nothing chosen"."""
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def strict_int_or_none(value) -> int | None:
    """Like int_or_none, but junk is an error the person is told about, not a silent "nothing chosen"."""
    if value is None or value == "":
        return None
    return int(str(value).strip())


def rating_label(value: int) -> str:
    """'4 – gut' / '4 – good'."""
    return f"{value} – {RATINGS[value]}"


def topic_choices() -> list[SelectChoice]:
    return (
        [SelectChoice("", _l("No wish"))]
        + [SelectChoice(key, label) for key, label in TOPICS.items()]
        + [SelectChoice(OTHER, _l("Something else"))]
    )


def wish_label(key: str) -> str:
    if key == OTHER:
        return str(_l("Something else"))
    return str(TOPICS.get(key, key))


def age_label(key: str) -> str:
    return str(AGE_GROUPS.get(key, key))


class MaxChars:
    """Length check whose message says how long the text is now, so people know how much to cut."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, form, field):
        length = len(field.data or "")
        if length > self.limit:
            raise ValidationError(
                _l("Please shorten this to %(max)d characters at most. It has %(length)d now.",
                   max=self.limit, length=length)
            )


def _rating_given(form, field):
    if field.data is None:
        raise ValidationError(_l("Please choose a face from 1 to 5."))
    if field.data not in RATINGS:
        raise ValidationError(_l("Please choose one of the five faces, from 1 (very bad) to 5 (very good)."))


class FeedbackForm(FlaskForm):
    # Made when the form is shown: a resent or replayed form carries the same key and is stored only once.
    idempotency_key = HiddenField()
    # Filled in by the page's script when the answer is kept on the phone: the time it was given (ISO 8601).
    given_at = HiddenField()
    workshop = SelectField(
        _l("Which workshop were you in?"), coerce=strict_int_or_none, choices=[],
        invalid_value_message=_l("Please pick a workshop of this visit from the list."),
        invalid_choice_message=_l("Please pick a workshop of this visit from the list."),
    )
    rating = RadioField(
        _l("How did you like it?"), coerce=int_or_none, validate_choice=False, validators=[_rating_given],
        render_kw={"required": True},
        choices=[SelectChoice(str(n), label) for n, label in RATINGS.items()],
    )
    learned = TextAreaField(_l("What did you learn?"), filters=[clean_text], validators=[MaxChars(TEXT_MAX)],
                            render_kw={"maxlength": TEXT_MAX, "rows": 3})
    missing = TextAreaField(_l("What was missing?"), filters=[clean_text], validators=[MaxChars(TEXT_MAX)],
                            render_kw={"maxlength": TEXT_MAX, "rows": 3})
    wish_topic = SelectField(
        _l("Which topic would you like next?"), choices=topic_choices(), default="",
        invalid_choice_message=_l("Please pick a topic from the list."),
    )
    wish_other = StringField(
        _l("Another topic"), filters=[clean_text], validators=[MaxChars(OTHER_MAX)],
        render_kw={"maxlength": OTHER_MAX},
    )
    age_group = SelectField(
        _l("Your age group"), default="",
        choices=[SelectChoice("", _l("I prefer not to say"))]
        + [SelectChoice(key, label) for key, label in AGE_GROUPS.items()],
        invalid_choice_message=_l("Please pick an age group from the list."),
    )

    def validate_wish_other(self, field):
        # Someone who types a topic but leaves the menu alone clearly means "something else".
        if field.data and not self.wish_topic.errors and self.wish_topic.data in ("", None):
            self.wish_topic.data = OTHER

    def set_workshops(self, workshops) -> None:
        """Offer the visit's workshops, labelled with their start time and title."""
        from flask_babel import format_time

        from ..core.content import text_in

        self.workshop.choices = [SelectChoice("", _l("The whole visit, or I don't know"))] + [
            SelectChoice(str(w.id), f"{format_time(w.starts_at, 'short')} · {text_in(w, 'title')}") for w in workshops
        ]


# The tour's answers lie well within these years; dates near the calendar's ends cannot even be turned into times.
FIRST_YEAR, LAST_YEAR = 2000, 2199


def _plausible(value) -> None:
    if value and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(_l("Please enter a date between the years %(first)d and %(last)d.",
                                 first=FIRST_YEAR, last=LAST_YEAR))


class ResultsFilterForm(FlaskForm):
    """GET filter of the results page: a period and a district; bookmarkable, so no CSRF token."""

    class Meta:
        csrf = False

    start = DateField(_l("Visits from"), validators=[Optional()])
    end = DateField(_l("Visits until"), validators=[Optional()])
    district = SelectField(_l("District"), coerce=strict_int_or_none, choices=[], validators=[Optional()],
                           invalid_value_message=_l("Please pick a district from the list."),
                           invalid_choice_message=_l("Please pick a district from the list."))

    def validate_start(self, field):
        _plausible(field.data)

    def validate_end(self, field):
        _plausible(field.data)
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end date must not be before the start date."))
