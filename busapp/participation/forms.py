"""The Mitreden form residents (and staff typing in a paper card) fill in.

The residents' form is built for each consultation: its choice questions become fields named q<id>, then the idea
and its topic, then the optional questions about the person."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.forms import clean_text
from .models import Consultation, QuestionKind
from .service import AGE_GROUPS, IDEA_MAX, INTERNET


def _c(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """Several options, each its own checkbox."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        values = {str(v) for v, *_rest in self.iter_choices()}
        if any(str(d) not in values for d in self.data or ()):
            raise ValidationError(_l("Please choose from the list."))


class _AnswerForm(FlaskForm):
    idempotency_key = HiddenField()
    # The stop of the code that opened the form (?halt=); the service keeps it only where the consultation runs.
    stop = HiddenField()

    def question_fields(self):
        return [self[name] for name in self._question_names]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        given = any(self[name].data not in (None, "", []) for name in self._question_names)
        if ok and not given and not (self.idea.data or "").strip():
            self.idea.errors.append(_l("Please answer at least one question or write an idea."))
            return False
        return ok


def answer_form(consultation: Consultation, lang: str, districts: list[tuple[int, str]],
                stops: list[tuple[int, str]] | None = None, **kw) -> _AnswerForm:
    """A form for this consultation's questions, labelled in `lang` (German where a text is missing); with
    `stops`, a paper card's: where it was filled in."""

    class Form(_AnswerForm):
        pass

    if stops is not None:
        Form.paper_stop = SelectField(_l("Where was the card filled in?"), coerce=_int_or_none,
                                      choices=_c([(None, _l("Not known"))] + stops), validators=[Optional()])

    names = []
    for q in consultation.questions:
        name = f"q{q.id}"
        labels = [in_language(text, "de" if lang != "de" and text in (q.options or []) else lang, lang)
                  for text in q.option_labels(lang)]
        values = list(range(1, 6)) if q.kind == QuestionKind.SCALE else list(range(len(labels)))
        choices = [(v, labels[i]) for i, v in enumerate(values)]
        if q.kind == QuestionKind.MULTIPLE:
            field = CheckboxesField(in_language(q.label(lang), q.label_lang(lang), lang), choices=_c(choices),
                                    coerce=int, validators=[Optional()])
        else:
            field = RadioField(in_language(q.label(lang), q.label_lang(lang), lang), choices=_c(choices),
                               coerce=_int_or_none, validators=[Optional()], validate_choice=True)
        setattr(Form, name, field)
        names.append(name)
    Form._question_names = names
    Form.idea = TextAreaField(in_language(consultation.text("idea_question", lang),
                                          consultation.text_lang("idea_question", lang), lang), filters=[clean_text],
                              validators=[Optional(), Length(max=IDEA_MAX)])
    Form.topic = SelectField(_l("Which topic is it about?"),
                             choices=_c([("", _l("I don't know"))] + [(t, t) for t in consultation.topics or []]),
                             validators=[Optional()])
    if consultation.ask_person:
        Form.age_group = RadioField(_l("Your age"), choices=_c(AGE_GROUPS.items()), validators=[Optional()])
        Form.district = SelectField(_l("Where do you live?"), coerce=_int_or_none,
                                    choices=_c([(None, _l("I'd rather not say"))] + districts), validators=[Optional()])
        Form.internet = RadioField(_l("I use the internet"), choices=_c(INTERNET.items()), validators=[Optional()])
    return Form(**kw)


def in_language(text: str, text_lang: str, page_lang: str):
    """A coordinator's text as a label: marked with its language and kept apart in a page of another language
    (German on an Arabic page), so that screen readers read it right and its punctuation stays at its end."""
    if text_lang == page_lang or (text_lang == "de" and page_lang.startswith("de")):
        return text
    return Markup('<bdi lang="{}">{}</bdi>').format(text_lang, text)


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    return int(value)


def choices_of(form: _AnswerForm) -> dict[int, list[int]]:
    out = {}
    for name in form._question_names:
        data = form[name].data
        values = data if isinstance(data, list) else ([data] if data is not None else [])
        out[int(name[1:])] = [int(v) for v in values]
    return out


class StationLeaveForm(FlaskForm):
    """Staff leave the Mitmach-Station with its PIN (on the station's page, so residents see its words too)."""

    pin = PasswordField(_l("Staff PIN"), validators=[DataRequired()],
                        render_kw={"inputmode": "numeric", "autocomplete": "off"})
