"""Coordinators' forms: stops, workshops, courses, series, import, people. They parse; the service decides."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField, DateField, DecimalField, EmailField, HiddenField, IntegerField, PasswordField, RadioField,
    SelectField, StringField, TextAreaField, TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..core.choices import AUDIENCES, LEVELS as LEVEL_LABELS, TOPICS, WORKSHOP_LANGUAGES
from ..domain import live
from ..core.forms import clean_text
from . import service

LEVELS = {"first_steps": _l("First steps"), "some_experience": _l("Some experience")}


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _too_long(limit: int):
    return Length(max=limit, message=_l("Please use at most %(max)d characters."))


def _required(message):
    return DataRequired(message=message)


MAX_ID = 2**31 - 1  # larger numbers name no row, and SQLite cannot even compare them


def _int_or_none(value):
    """A submitted id as a number, or None for anything that cannot be one."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class StopForm(FlaskForm):
    place = SelectField(_l("Place"), coerce=_int_or_none, validate_choice=False,
                        validators=[InputRequired(message=_l("Please choose a place."))])
    day = DateField(_l("Date"), format=["%Y-%m-%d", "%d.%m.%Y"], validators=[InputRequired(message=_l("Please give a date, for example 01.12.2026."))])
    start = TimeField(_l("Starts at"), validators=[InputRequired(message=_l("Please give a start time, for example 10:00."))])
    end = TimeField(_l("Ends at"), validators=[InputRequired(message=_l("Please give an end time, for example 14:00."))])
    holiday_ok = BooleanField(_l("Yes, the bus really comes on this public holiday."))
    note = TextAreaField(_l("What changed and why (the people booked will read it)"), filters=[clean_text],
                         validators=[Optional(), _too_long(300)])
    # Shown only when the tour has more than one bus; otherwise every stop is the one bus's.
    bus = SelectField(_l("Bus"), coerce=_int_or_none, validate_choice=False, validators=[Optional()])
    # For a stop of a series: which of its stops the change reaches (planning.series); see scope_field.
    scope = RadioField(_l("Which stops change"), default="one", validate_choice=False)
    # The scope whose dry run the coordinator saw last: a change to several stops is saved only after its own.
    shown = HiddenField()
    confirm = HiddenField()

    def __init__(self, *args, places=(), buses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.place.choices = [SelectChoice("", _l("Choose a place"))] + [
            SelectChoice(p.id, p.name, optgroup=p.district.name) for p in places]
        self._place_ids = {p.id for p in places}
        self.bus.choices = [(b.id, b.name) for b in buses]
        self._bus_ids = {b.id for b in buses}
        self.several_buses = len(buses) > 1

    def validate_bus(self, field) -> None:
        if field.data is not None and field.data not in self._bus_ids:
            raise ValidationError(_l("Please choose a bus."))

    def validate_place(self, field) -> None:
        if field.data not in self._place_ids:
            raise ValidationError(_l("Please choose a place."))


def _yes_no(value):
    return {"yes": True, "no": False}.get(value) if isinstance(value, str) else value


YES_NO = (("", _l("Not known")), ("yes", _l("Yes")), ("no", _l("No")))


class _YesNoField(SelectField):
    """Yes, no or not known (None): a place nobody checked must not be shown as step-free."""

    def __init__(self, label, **kwargs):
        super().__init__(label, choices=choices(YES_NO), coerce=_yes_no, validate_choice=False, **kwargs)


class _CoordinateField(DecimalField):
    """A latitude or longitude as typed in Germany or elsewhere: "53,8655" and "53.8655" are the same number."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [str(v).strip().replace(",", ".", 1) if v.count(",") == 1 and "." not in v else v
                         for v in valuelist]
        super().process_formdata(valuelist)


def _district_value(value):
    """A district as sent: an id from the list (a number), else the text as typed (a name, looked up on validation)."""
    if isinstance(value, int) or value is None:
        return value
    text = str(value).strip()
    return _int_or_none(text) if text.isdigit() else (text or None)


def district_field_check(field, known_ids) -> None:
    """A district field holds one of the known ids afterwards, or says which districts there are (the closest to
    what was typed, else all): a name typed into a link is looked up by name, number or address name."""
    if field.data in known_ids:
        return
    found = service.find_district(field.data) if field.data is not None else None
    if found is not None and found.id in known_ids:
        field.data = found.id
        return
    raise ValidationError(service.unknown_district(field.data if isinstance(field.data, str) else ""))


class PlaceForm(FlaskForm):
    district_id = SelectField(_l("District"), coerce=_district_value, validate_choice=False,
                              validators=[InputRequired(message=_l("Please choose a district."))])
    name = StringField(_l("Name of the place"), filters=[clean_text],
                       validators=[_required(_l("Please name the place where the bus stands.")), _too_long(160)])
    address = StringField(_l("Street and house number"), filters=[clean_text], validators=[Optional(), _too_long(200)])
    postcode = StringField(_l("Postcode"), filters=[clean_text], validators=[Optional(), _too_long(10)])
    lat = _CoordinateField(_l("Latitude"), places=None, validators=[Optional(), NumberRange(-90, 90)])
    lon = _CoordinateField(_l("Longitude"), places=None, validators=[Optional(), NumberRange(-180, 180)])
    transit_stop = StringField(_l("Nearest city bus stop"), filters=[clean_text], validators=[Optional(), _too_long(120)])
    transit_lines = StringField(_l("Bus lines there"), filters=[clean_text], validators=[Optional(), _too_long(120)])
    step_free = _YesNoField(_l("Step-free access"))
    seats = _YesNoField(_l("Seats"))
    toilet = _YesNoField(_l("Toilet"))
    hearing_loop = _YesNoField(_l("Hearing loop"))
    finding_note = StringField(_l("How to find the bus"), filters=[clean_text], validators=[Optional(), _too_long(300)])

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.district_id.choices = choices([("", _l("Choose a district"))] + [(d.id, d.name) for d in districts])
        self._district_ids = {d.id for d in districts}

    def validate_district_id(self, field) -> None:
        district_field_check(field, self._district_ids)


class WorkshopForm(FlaskForm):
    course = SelectField(_l("From the course catalogue"), coerce=_int_or_none, validate_choice=False,
                         validators=[Optional()])
    title = StringField(_l("Title"), filters=[clean_text],
                        validators=[_required(_l("Please give the workshop a title.")), _too_long(160)])
    topic = SelectField(_l("Topic"), choices=choices(TOPICS.items()),
                        validators=[_required(_l("Please choose a topic."))])
    description = TextAreaField(_l("Description"), filters=[clean_text], validators=[Optional(), _too_long(2000)])
    language = SelectField(_l("Language"), choices=choices((c, c) for c in WORKSHOP_LANGUAGES), default="de")
    audience = SelectField(_l("For whom"), choices=choices(AUDIENCES.items()), default="everyone")
    start = TimeField(_l("Starts at"), validators=[InputRequired(message=_l("Please give a start time, for example 10:00."))])
    duration_minutes = IntegerField(_l("Duration in minutes"), default=60, validators=[
        InputRequired(message=_l("Please give the duration in minutes.")),
        NumberRange(1, service.MAX_WORKSHOP_MINUTES, message=_l("Please give between %(min)d and %(max)d minutes."))])
    capacity = IntegerField(_l("Seats"), default=8, validators=[
        InputRequired(message=_l("Please give the number of seats.")),
        NumberRange(service.MIN_CAPACITY, service.MAX_CAPACITY,
                    message=_l("Please give between %(min)d and %(max)d seats."))])
    level = SelectField(_l("Level"), choices=choices(LEVEL_LABELS.items()), default="first_steps")
    bring = StringField(_l("What to bring"), filters=[clean_text], validators=[Optional(), _too_long(300)])
    walk_ins = BooleanField(_l("Walk-ins welcome: people may just come by without booking"), default=True)
    accessibility_notes = StringField(_l("Accessibility notes"), filters=[clean_text],
                                      validators=[Optional(), _too_long(300)])
    parallel = BooleanField(_l("Held in parallel with other workshops (a second trainer)"))
    note = TextAreaField(_l("What changed and why (the people booked will read it)"), filters=[clean_text],
                         validators=[Optional(), _too_long(300)])
    scope = RadioField(_l("Which dates change"), default="one", validate_choice=False)
    shown = HiddenField()
    confirm = HiddenField()

    def __init__(self, *args, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.course.choices = choices([("", _l("None: fill in below"))] + [(c.id, c.title) for c in courses])
        from ..core.choices import language_label

        self.language.choices = choices((c, language_label(c)) for c in WORKSHOP_LANGUAGES)


class CourseForm(FlaskForm):
    title = StringField(_l("Title"), filters=[clean_text],
                        validators=[_required(_l("Please give the course a title.")), _too_long(160)])
    topic = SelectField(_l("Topic"), choices=choices(TOPICS.items()))
    description = TextAreaField(_l("Description"), filters=[clean_text], validators=[Optional(), _too_long(2000)])
    audience = SelectField(_l("For whom"), choices=choices(AUDIENCES.items()), default="everyone")
    level = SelectField(_l("Level"), choices=choices(LEVELS.items()), default="first_steps")
    language = SelectField(_l("Language"), choices=choices((c, c) for c in WORKSHOP_LANGUAGES), default="de")
    duration_minutes = IntegerField(_l("Duration in minutes"), default=60, validators=[
        InputRequired(message=_l("Please give the duration in minutes.")),
        NumberRange(1, service.MAX_WORKSHOP_MINUTES, message=_l("Please give between %(min)d and %(max)d minutes."))])
    capacity = IntegerField(_l("Seats"), default=8, validators=[
        InputRequired(message=_l("Please give the number of seats.")),
        NumberRange(service.MIN_CAPACITY, service.MAX_CAPACITY,
                    message=_l("Please give between %(min)d and %(max)d seats."))])
    what_to_bring = StringField(_l("What to bring"), filters=[clean_text], validators=[Optional(), _too_long(300)])
    walk_ins = BooleanField(_l("Walk-ins welcome: people may just come by without booking"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from ..core.choices import language_label

        self.language.choices = choices((c, language_label(c)) for c in WORKSHOP_LANGUAGES)


class RepeatForm(FlaskForm):
    rule = RadioField(_l("Repeat"), default="biweekly", choices=choices([
        ("weekly", _l("Every week")), ("biweekly", _l("Every second week")),
        ("monthly", _l("Every month on the same weekday (for example the 2nd Tuesday)")),
    ]), validators=[InputRequired(message=_l("Please choose how often."))])
    count = IntegerField(_l("How many new stops"), validators=[
        Optional(), NumberRange(1, service.MAX_SERIES, message=_l("Please give between %(min)d and %(max)d."))])
    until = DateField(_l("Or until this date"), format=["%Y-%m-%d", "%d.%m.%Y"], validators=[Optional()],
                      render_kw={"autocomplete": "off"})
    exceptions = StringField(_l("Leave out these dates"), filters=[clean_text], validators=[Optional(), _too_long(600)])
    confirm = HiddenField()

    def validate_count(self, field) -> None:
        if not field.data and not self.until.data:
            raise ValidationError(_l("Please give how many new stops, or a last date."))

    def exception_dates(self) -> set[date]:
        from .service import parse_date

        out = set()
        for part in (self.exceptions.data or "").replace(";", ",").split(","):
            part = part.strip()
            if part:
                day = parse_date(part)
                if day is None:
                    self.exceptions.errors = list(self.exceptions.errors) + [
                        _l("“%(text)s” is not a date. Write dates like 01.12.2026, separated by commas.", text=part)]
                else:
                    out.add(day)
        return out


class LiveForm(FlaskForm):
    status = SelectField(_l("Where is the bus?"), choices=choices(list(live.LABELS.items())))
    minutes = IntegerField(_l("Minutes late"), validators=[Optional()])
    note = StringField(_l("Note for visitors"), filters=[clean_text], validators=[Optional(), _too_long(200)])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason, shown to the people booked"), filters=[clean_text], validators=[
        _required(_l("Please give a reason; the people booked will read it.")), _too_long(300)])
    scope = RadioField(_l("What is cancelled"), default="one", validate_choice=False)
    shown = HiddenField()
    confirm = HiddenField()


class PlaceFilterForm(FlaskForm):
    """Only the places of one district in the stop form's list (a GET form: nothing is changed by it)."""

    class Meta:
        csrf = False

    district = SelectField(_l("Only places in this district"), coerce=_district_value, validate_choice=False,
                           validators=[Optional()])

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = choices([("", _l("All districts"))] + [(d.id, d.name) for d in districts])
        self._district_ids = {d.id for d in districts}

    def validate_district(self, field) -> None:
        if field.data is not None:
            district_field_check(field, self._district_ids)


class BulkFilterForm(FlaskForm):
    """Which stops to list for acting on many at once (a GET form: nothing is changed by it)."""

    class Meta:
        csrf = False

    first = DateField(_l("First day"), format=["%Y-%m-%d", "%d.%m.%Y"], validators=[Optional()])
    last = DateField(_l("Last day"), format=["%Y-%m-%d", "%d.%m.%Y"], validators=[Optional()])
    # An id from the list, or a district's name, number or address name typed into a link (planning.service).
    district = SelectField(_l("District"), coerce=_district_value, validate_choice=False, validators=[Optional()])
    bus = SelectField(_l("Bus"), coerce=_int_or_none, validate_choice=False, validators=[Optional()])
    status = SelectField(_l("State"), validate_choice=False, validators=[Optional()])
    batch = SelectField(_l("Import"), coerce=_int_or_none, validate_choice=False, validators=[Optional()])

    def __init__(self, *args, districts=(), buses=(), batches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = choices([("", _l("All districts"))] + [(d.id, d.name) for d in districts])
        self._district_ids = {d.id for d in districts}
        self.bus.choices = choices([("", _l("All buses"))] + [(b.id, b.name) for b in buses])
        self.several_buses = len(buses) > 1
        self.status.choices = choices([("", _l("Any state")), ("draft", _l("Draft")), ("published", _l("Published")),
                                       ("cancelled", _l("Cancelled"))])
        self.batch.choices = choices([("", _l("Any, also planned by hand"))] + list(batches))

    def validate_district(self, field) -> None:
        if field.data is not None:
            district_field_check(field, self._district_ids)

    def validate_status(self, field) -> None:
        if field.data and field.data not in ("draft", "published", "cancelled"):
            raise ValidationError(_l("Please choose a state from the list."))

    def validate_last(self, field) -> None:
        if field.data and self.first.data and field.data < self.first.data:
            raise ValidationError(_l("The last day must not be before the first."))


class BulkForm(FlaskForm):
    """What to do with the ticked stops; the stop ids and the action come from the page's checkboxes and buttons."""

    reason = TextAreaField(_l("Reason, shown to the people booked"), filters=[clean_text],
                           validators=[Optional(), _too_long(300)])
    confirm = HiddenField()
    # The list's query string, to come back to the same stops afterwards.
    back = HiddenField()


def _scope_label(kind: str, scope: str, n: int) -> str:
    from flask_babel import gettext as _, ngettext

    if kind == "stop":
        return {"one": lambda: _("Only this stop"),
                "following": lambda: ngettext("This stop and all following (%(num)d stop)",
                                              "This stop and all following (%(num)d stops)", n),
                "all": lambda: ngettext("The whole series (%(num)d stop from today on)",
                                        "The whole series (%(num)d stops from today on)", n)}[scope]()
    return {"one": lambda: _("Only this workshop"),
            "following": lambda: ngettext("This workshop and the same one on all following dates (%(num)d workshop)",
                                          "This workshop and the same one on all following dates (%(num)d workshops)",
                                          n),
            "all": lambda: ngettext("The same workshop in the whole series (%(num)d workshop from today on)",
                                    "The same workshop in the whole series (%(num)d workshops from today on)",
                                    n)}[scope]()


def scope_field(form, reach: dict[str, int], kind: str) -> None:
    """Fill the form's `scope` radios from what each scope reaches (planning.series.reach): kind "stop" or
    "workshop". A choice that reaches no more than "only this one" is left out."""
    names = ["one"] + [name for name in ("following", "all") if reach.get(name, 0) > 1]
    form.scope.choices = choices((name, _scope_label(kind, name, reach.get(name, 1))) for name in names)
    form.scope.flags.required = True  # one choice is always made ("only this one" unless another is picked)
    form.in_series = len(names) > 1
    if form.scope.data not in names:
        form.scope.data = "one"


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))
    # The key of a checked file (tourcsv.stage): sent by "add all of them" instead of the file.
    upload = HiddenField()
    # "yes": add the kept file without its stops that have a problem (tourcsv.without_problems).
    leave_out = HiddenField()


class StaffForm(FlaskForm):
    email = EmailField(_l("Email"), filters=[clean_text], validators=[
        _required(_l("Please give an email address.")), _too_long(254)])
    role = SelectField(_l("Role"), choices=choices([("staff", _l("Bus staff")), ("coordinator", _l("Coordinator"))]))
    password = PasswordField(_l("First password (at least 10 characters)"), validators=[
        _required(_l("Please give a first password."))])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password (at least 10 characters)"), validators=[
        _required(_l("Please give a new password."))])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    user = SelectField(_l("Person"), coerce=_int_or_none, validate_choice=False, validators=[Optional()])
    stop = IntegerField(_l("Stop number"), validators=[Optional()])
    day = DateField(_l("Day"), validators=[Optional()])


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField(_l("Stops from"), validators=[Optional()])
    end = DateField(_l("Stops until"), validators=[Optional()])
