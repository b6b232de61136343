"""The booking form: a name, the party size, an optional contact and note, consent. Nothing else."""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l, ngettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from ..domain.party import MAX_PARTY, MIN_PARTY, PARTY_SIZES
from ..core.forms import clean_text

NAME_MAX = 80
CONTACT_MAX = 120
NOTE_MAX = 300
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Digits with the separators people write in phone numbers: +49 123 456-789, (0123) 45 67 89, 0123/456789
_PHONE = re.compile(r"^\+?[0-9 ()/.\-]+$")


def _party(value) -> int:
    # Anything that is not a number becomes 0, so it gets the same clear message as 0 or 9.
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# A name with a web address in it is refused: names reach the door list, coordinators' lists and exports, and a
# link there is bait (mails never carry the name at all, see booking/notify.py). A scheme, "www." or a host name
# ending in a common top-level domain; "Dr. Anna Muster" or "A.B." pass.
WEB_ADDRESS = re.compile(
    r"(?i)([a-z][a-z0-9+.-]*://|\bwww\.|(?<![@\w.-])[^\s@.]+\.(?:[^\s@.]+\.)*"
    r"(?:de|com|org|net|eu|info|io|ly|ru|xyz|top|app|link|site|online|shop|biz|click|page|gl|co|cc|gd)(?![a-z0-9-]))")


def no_web_address(_form, field) -> None:
    if field.data and WEB_ADDRESS.search(field.data):
        raise ValidationError(_l("A name cannot contain a web address. Please write only a name or a nickname."))


def _too_long(limit: int):
    return Length(max=limit, message=_l("Please use at most %(max)d characters."))


def contact_kind(contact: str | None) -> str:
    """'email', 'phone' or '' for a stored contact."""
    if not contact:
        return ""
    return "email" if "@" in contact else "phone"


class BookingForm(FlaskForm):
    name = StringField(
        _l("Your name or a nickname"),
        filters=[clean_text],
        validators=[DataRequired(message=_l("Please enter a name or a nickname.")), _too_long(NAME_MAX),
                    no_web_address],
    )
    party_size = RadioField(
        _l("How many people are coming?"),
        choices=[SelectChoice(n, str(n)) for n in PARTY_SIZES],  # labelled in __init__, in the visitor's language
        coerce=_party,
        default=1,
        validate_choice=False,
        validators=[InputRequired(message=_l("Please choose how many people are coming: %(min)d to %(max)d.", min=MIN_PARTY, max=MAX_PARTY))],
    )
    contact = StringField(
        _l("Email or phone number"),
        filters=[clean_text],
        validators=[Optional(), _too_long(CONTACT_MAX)],
    )
    needs_note = TextAreaField(
        _l("Anything we should know about your needs?"),
        filters=[clean_text],
        validators=[Optional(), _too_long(NOTE_MAX)],
    )
    consent = BooleanField(
        _l("I have read the privacy notice and agree that my booking is stored as described there."),
        validators=[DataRequired(message=_l("Please agree to the privacy notice, otherwise we cannot keep your seat."))],
    )
    idempotency_key = HiddenField(
        validators=[
            DataRequired(message=_l("The form is incomplete. Please reload the page and send it again.")),
            Regexp(IDEMPOTENCY_KEY, message=_l("The form is incomplete. Please reload the page and send it again.")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.party_size.choices = [SelectChoice(n, ngettext("%(num)d person", "%(num)d people", n)) for n in PARTY_SIZES]

    def validate_party_size(self, field) -> None:
        if field.data not in PARTY_SIZES:
            raise ValidationError(_l("Please choose how many people are coming: %(min)d to %(max)d.", min=MIN_PARTY, max=MAX_PARTY))

    def validate_contact(self, field) -> None:
        value = field.data or ""
        if not value:
            return
        if "@" in value:
            try:
                field.data = validate_email(value, check_deliverability=False).normalized
            except EmailNotValidError as exc:
                raise ValidationError(_l("This email address is not complete. Please check it.")) from exc
            return
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE.match(value) or not 6 <= digits <= 20:
            raise ValidationError(_l("Please enter an email address or a phone number, or leave this empty."))


class FindForm(FlaskForm):
    """Find a booking by its code and the name given, for people who lost the link."""

    code = StringField(
        _l("Booking code"),
        filters=[clean_text],
        validators=[DataRequired(message=_l("Please enter the booking code, for example K7M Q4P.")), _too_long(20)],
    )
    name = StringField(
        _l("The name given when booking"),
        filters=[clean_text],
        validators=[DataRequired(message=_l("Please enter the name given when booking.")), _too_long(NAME_MAX)],
    )


class ReduceForm(FlaskForm):
    """Give back seats of a party: how many people still come."""

    party_size = RadioField(
        _l("How many people are still coming?"),
        coerce=_party,
        validate_choice=False,
        validators=[InputRequired(message=_l("Please choose how many people are still coming."))],
    )

    def set_choices(self, party_size: int) -> None:
        self.party_size.choices = [SelectChoice(n, str(n)) for n in range(1, party_size)]
