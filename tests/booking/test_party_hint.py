"""The booking form's hint on how many may book together takes its number from the one party-size rule
(busapp/domain/party.py), in every language, instead of a number written out in each catalogue."""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from busapp.core.i18n import catalogue_id
from busapp.domain import party
from tests.conftest import ROOT

HINT = "A parent with a child needs two seats. Up to %(num)d person can book together."
LANGUAGES = ("de", "en", "tr", "uk", "ar", "pl", "ru", "fa", "de-x-ls")


def hint_of(page: str) -> str:
    """The party size's hint on the booking form."""
    return re.search(r'<fieldset[^>]*class="[^"]*party-size[^"]*".*?<p class="hint"[^>]*>(.*?)</p>', page, re.S).group(1)


@pytest.mark.parametrize("tag", LANGUAGES)
def test_the_hint_names_the_largest_party_the_rule_allows(client, make_workshop, tag):
    workshop = make_workshop()
    page = client.get(f"/workshops/{workshop.id}/book?lang={tag}").get_data(as_text=True)
    assert re.search(rf"(?<!\d){party.MAX_PARTY}(?!\d)", hint_of(page)), hint_of(page)


def test_the_hint_follows_the_rule_when_it_changes(app, client, make_workshop):
    assert app.jinja_env.globals["MAX_PARTY"] == party.MAX_PARTY == max(party.PARTY_SIZES)
    app.jinja_env.globals["MAX_PARTY"] = 6
    workshop = make_workshop()
    assert "Up to 6 people can book together." in hint_of(
        client.get(f"/workshops/{workshop.id}/book?lang=en").get_data(as_text=True))
    assert "Bis zu 6 Personen können zusammen buchen." in hint_of(
        client.get(f"/workshops/{workshop.id}/book?lang=de").get_data(as_text=True))


@pytest.mark.parametrize("tag", [t for t in LANGUAGES if t != "en"])
def test_no_catalogue_writes_the_number_out(tag):
    path = ROOT / "translations" / catalogue_id(tag) / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        message = read_po(f).get(HINT)
    assert message is not None and isinstance(message.string, tuple) and all(message.string)
    for form in message.string:
        assert "%(num)d" in form, (tag, form)
