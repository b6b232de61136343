"""The coordinators' Mitreden forms: a consultation, moderation, an idea's status and answer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from ..core.forms import clean_text
from .forms import CheckboxesField, _c
from .models import Consultation, IdeaStatus, QuestionKind
from .service import HIDE_REASONS, STATUSES

# --- consultations ------------------------------------------------------------------------------------------------

QUESTION_KINDS = {"single": QuestionKind.SINGLE, "multiple": QuestionKind.MULTIPLE, "scale": QuestionKind.SCALE}


def parse_questions(text: str) -> list[tuple[QuestionKind, str, list[str]]]:
    """'single: Frage? | A | B' per line -> [(kind, question, options)]; a ValueError names the bad line."""
    out = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        kind, sep, rest = line.partition(":")
        parts = [p.strip() for p in rest.split("|")]
        if not sep or kind.strip().lower() not in QUESTION_KINDS or not parts[0]:
            raise ValueError(n)
        kind = QUESTION_KINDS[kind.strip().lower()]
        options = [p for p in parts[1:] if p]
        if kind != QuestionKind.SCALE and len(options) < 2:
            raise ValueError(n)
        out.append((kind, parts[0], options if kind != QuestionKind.SCALE else []))
    return out


def questions_text(consultation: Consultation) -> str:
    return "\n".join(f"{q.kind.value}: " + " | ".join([q.text, *(q.options or [])]) for q in consultation.questions)


class ConsultationForm(FlaskForm):
    title = StringField(_l("Title (German)"), filters=[clean_text], validators=[DataRequired(), Length(max=200)])
    intro = TextAreaField(_l("Introduction (German)"), filters=[clean_text], validators=[Optional(), Length(max=4000)])
    idea_question = StringField(_l("Idea question (German)"), filters=[clean_text],
                                validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("Title (English)"), filters=[clean_text], validators=[Optional(), Length(max=200)])
    intro_en = TextAreaField(_l("Introduction (English)"), filters=[clean_text],
                             validators=[Optional(), Length(max=4000)])
    idea_question_en = StringField(_l("Idea question (English)"), filters=[clean_text],
                                   validators=[Optional(), Length(max=300)])
    starts = DateField(_l("First day"), validators=[InputRequired(_l("Please enter a date."))])
    ends = DateField(_l("Last day"), validators=[InputRequired(_l("Please enter a date."))])
    districts = CheckboxesField(_l("Districts"), coerce=int, validators=[Optional()])
    stops = CheckboxesField(_l("Stops"), coerce=int, validators=[Optional()])
    topics = TextAreaField(_l("Topics, one per line"), validators=[Optional(), Length(max=2000)])
    questions = TextAreaField(_l("Choice questions, one per line"), validators=[Optional(), Length(max=8000)])
    ask_person = BooleanField(_l("Ask the optional questions about the person (age, district, internet use)"))

    def validate_ends(self, field):
        if self.starts.data and field.data and field.data < self.starts.data:
            raise ValidationError(_l("The last day cannot be before the first day."))

    def validate_questions(self, field):
        try:
            parse_questions(field.data)
        except ValueError as exc:
            raise ValidationError(_l("Line %(n)s: write 'single:', 'multiple:' or 'scale:', the question, and for "
                                     "choices at least two options separated by |.", n=exc.args[0])) from None


class ModerateForm(FlaskForm):
    action = RadioField(_l("Decision"), choices=_c([("publish", _l("Publish")), ("hide", _l("Hide"))]),
                        validators=[InputRequired(_l("Please choose."))])
    reason = SelectField(_l("Reason for hiding"), choices=_c([("", "–")] + list(HIDE_REASONS.items())),
                         validators=[Optional()])


class AnswerIdeaForm(FlaskForm):
    status = SelectField(_l("Status"), choices=_c((s.value, label) for s, label in STATUSES.items()),
                         validators=[InputRequired()])
    topic = SelectField(_l("Topic"), validators=[Optional()])
    answer = TextAreaField(_l("Public answer (German)"), filters=[clean_text],
                           validators=[Optional(), Length(max=2000)])
    # Shown only for an idea written in another language; its label names that language.
    answer_own = TextAreaField(_l("Public answer in the idea's language"), filters=[clean_text],
                               validators=[Optional(), Length(max=2000)])


class MergeForm(FlaskForm):
    into = SelectField(_l("Merge into this idea"), coerce=int, validators=[InputRequired(_l("Please choose an idea."))])


class CorrectForm(FlaskForm):
    text = TextAreaField(_l("Corrected text"), filters=[clean_text],
                         validators=[DataRequired(_l("The idea cannot be empty.")), Length(max=2000)])
    note = StringField(_l("What was corrected (shown with the idea)"), filters=[clean_text],
                       validators=[DataRequired(_l("Please say what you corrected.")), Length(max=300)])


def status_of(form: AnswerIdeaForm) -> IdeaStatus:
    return IdeaStatus(form.status.data)


# --- the station ---------------------------------------------------------------------------------------------------

class StationStartForm(FlaskForm):
    pin = PasswordField(_l("Staff PIN for leaving the station (4 to 8 digits)"),
                        validators=[DataRequired(), Regexp(r"^[0-9]{4,8}$", message=_l("The PIN must be 4 to 8 digits."))],
                        render_kw={"inputmode": "numeric", "autocomplete": "off"})

