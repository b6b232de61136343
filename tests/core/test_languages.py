"""Every resident in their language: the languages come from the LANGUAGES setting, Leichte Sprache is its own
catalogue that falls back to German, the picker names each language in itself, pages carry hreflang alternates,
plural forms follow CLDR, and every catalogue is complete for what residents see."""
from __future__ import annotations

import html as htmllib
import json
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext, ngettext

from busapp.core import config as config_module
from busapp.core.translations import (
    FULL_LANGUAGES,
    ROOT,
    SOURCE_LANGUAGE,
    catalogue_path,
    load,
    missing,
    staff_only,
    untranslated,
)
from busapp.core.i18n import catalogue_id, language_tag
from busapp.pwa.views import plural_probes
from tests.pwa.test_pwa import fetch_bytes

TAGS = [t for t in config_module.DEFAULT_LANGUAGES.split(",")]
TRANSLATED = [t for t in TAGS if t != SOURCE_LANGUAGE]


def html(response) -> str:
    return response.get_data(as_text=True)


def html_tag(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group(0)


def test_languages_come_from_the_setting_and_are_named_in_themselves():
    names = config_module.languages(config_module.DEFAULT_LANGUAGES, "de")
    assert list(names) == ["de", "en", "tr", "uk", "ar", "pl", "ru", "fa", "de-x-ls"]
    assert names == {
        "de": "Deutsch", "en": "English", "tr": "Türkçe", "uk": "Українська", "ar": "العربية", "pl": "Polski",
        "ru": "Русский", "fa": "فارسی", "de-x-ls": "Leichte Sprache",
    }
    assert list(config_module.languages(" de , pl ", "de")) == ["de", "pl"]


@pytest.mark.parametrize("value", ["en,tr", "de,xx-nonsense-zz", "de,qq"])
def test_a_bad_language_setting_stops_the_start(value):
    with pytest.raises(config_module.ConfigError):
        config_module.languages(value, "de")


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LANGUAGES", "de,en,ar")
    cfg = config_module.load(str(tmp_path), {"APP_ENV": "testing"})
    assert list(cfg["LANGUAGES"]) == ["de", "en", "ar"]


@pytest.mark.parametrize("tag, ident", [("de", "de"), ("de-x-ls", "de@ls"), ("pt-BR", "pt_BR"), ("fa", "fa")])
def test_tags_and_catalogue_names(tag, ident):
    assert catalogue_id(tag) == ident and language_tag(ident) == tag


def _picker(page: str) -> str:
    start = page.index('class="lang-picker"')
    return page[start:page.index("</details>", start)]


def test_picker_names_every_language_in_itself_and_marks_easy_german(client):
    picker = _picker(html(client.get("/")))
    # One tap on a globe (a sign anyone knows) opens the list; no German word has to be read first.
    assert re.search(r'<summary class="lang-picker__toggle">\s*<img class="lang-picker__globe" src="[^"]*globe\.svg', picker)
    options = re.findall(r'<a href="/\?lang=([^"&]+)&amp;remember=1" data-lang-switch="[^"]+" hreflang="[^"]+" '
                         r'lang="([^"]+)" dir="(\w+)"[^>]*>([^<]+)</a>', picker)
    assert [(v, name) for v, _l, _d, name in options] == list(config_module.languages(
        config_module.DEFAULT_LANGUAGES, "de").items())
    assert ("de-x-ls", "de", "ltr", "Leichte Sprache") in options
    assert ("ar", "ar", "rtl", "العربية") in options and ("fa", "fa", "rtl", "فارسی") in options
    assert '<form' not in picker and "<select" not in picker


def test_easy_german_says_german_with_a_marker_and_is_remembered_when_asked(client):
    page = html(client.get("/?lang=de-x-ls"))
    assert html_tag(page) == '<html lang="de" dir="ltr" data-lang="de-x-ls">'
    assert re.search(r'data-lang-switch="de-x-ls"[^>]*aria-current="true"', page)
    response = client.get("/?lang=de-x-ls&remember=1")
    assert response.status_code == 303
    assert 'data-lang="de-x-ls"' in html_tag(html(client.get("/s/1")))


def test_easy_german_falls_back_to_german_never_to_english(app):
    # Staff pages are not written in Leichte Sprache: their messages are left out of de@ls on purpose.
    with app.test_request_context("/?lang=de-x-ls"):
        with force_locale("de@ls"):
            assert gettext("Password") == "Passwort"
            assert gettext("You are signed out.") == "Sie sind abgemeldet."


@pytest.mark.parametrize("lang, direction", [("ar", "rtl"), ("fa", "rtl"), ("tr", "ltr"), ("uk", "ltr")])
def test_direction_per_language(client, lang, direction):
    assert html_tag(html(client.get(f"/?lang={lang}"))) == f'<html lang="{lang}" dir="{direction}">'


def test_pages_carry_hreflang_alternates_for_every_language(client, make_stop):
    stop = make_stop()
    page = html(client.get(f"/?district={stop.district.slug}&x=1&lang=tr"))
    links = {tag: href.replace("&amp;", "&")
             for tag, href in re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', page)}
    assert set(links) == set(TAGS) | {"x-default"}
    # Only the page's own parameters, on the public address.
    assert links["de-x-ls"] == f"http://localhost/?district={stop.district.slug}&lang=de-x-ls"
    assert links["x-default"] == f"http://localhost/?district={stop.district.slug}"


# Arabic: the six CLDR forms, with gettext's order zero, one, two, few (3-10), many (11-99), other (100-102).
PLURALS = {
    "ar": {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 102: 5, 103: 3, 111: 4},
    "pl": {1: 0, 2: 1, 4: 1, 5: 2, 12: 2, 22: 1, 25: 2, 0: 2},
    "ru": {1: 0, 21: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 0: 2},
    "uk": {1: 0, 21: 0, 2: 1, 24: 1, 5: 2, 11: 2, 0: 2},
}


@pytest.mark.parametrize("lang", sorted(PLURALS))
def test_plural_forms_follow_cldr_in_python(app, lang):
    catalogue = load(lang)
    message = catalogue.get("%(num)d seat free")
    forms = message.string
    assert len(set(forms)) == len(forms) == catalogue.num_plurals, forms  # each form its own text
    with app.test_request_context(f"/?lang={lang}"):
        for n, index in PLURALS[lang].items():
            got = ngettext("%(num)d seat free", "%(num)d seats free", n)
            assert got == forms[index] % {"num": n}, (lang, n)


@pytest.mark.parametrize("lang, expected", [
    ("ar", (("zero", 0), ("one", 1), ("two", 2), ("few", 3), ("many", 11), ("other", 100))),
    ("pl", (("one", 1), ("few", 2), ("many", 0), ("other", 0))),
    ("ru", (("one", 1), ("few", 2), ("many", 0), ("other", 0))),
    ("uk", (("one", 1), ("few", 2), ("many", 0), ("other", 0))),
    ("de", (("one", 1), ("other", 0))),
    ("tr", (("one", 1), ("other", 0))),
])
def test_offline_scripts_get_every_cldr_category(lang, expected):
    assert plural_probes(catalogue_id(lang)) == expected


def test_offline_sentences_carry_each_arabic_form(client):
    page = html(client.get("/?lang=ar"))
    meta = re.search(r"id=\"pwa-strings\" content='([^']*)'", page)
    strings = json.loads(htmllib.unescape(meta.group(1)))
    seats = strings["seats_free"]
    assert set(seats) == {"zero", "one", "two", "few", "many", "other"}
    assert len(set(seats.values())) == 6
    assert seats["one"] == "مقعد واحد شاغر" and seats["few"] == "{n} مقاعد شاغرة" and seats["many"] == "{n} مقعدًا شاغرًا"


# --- the catalogues -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", TRANSLATED)
def test_every_catalogue_is_complete_for_residents(tag):
    left = [m.id for m in missing(tag)]
    assert not left, f"{tag}: {len(left)} missing, e.g. {left[:5]} (run: flask translate missing {tag})"


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
MARKUP = re.compile(r"</?\w+[^>]*>")


def _same_bag(a: list[str], b: list[str]) -> bool:
    return sorted(a) == sorted(b)


@pytest.mark.parametrize("tag", TRANSLATED)
def test_placeholders_and_markup_match_the_source(tag):
    wrong = []
    for message in load(tag):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        names = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if not text:
                continue
            # A plural form may leave the number out ("one seat"), but never add a name the source lacks.
            if not set(PLACEHOLDER.findall(text)) <= names or (
                    len(ids) == 1 and set(PLACEHOLDER.findall(text)) != names):
                wrong.append((ids[0], text))
            if not _same_bag(MARKUP.findall(ids[0]), MARKUP.findall(text)):
                wrong.append((ids[0], text))
    assert not wrong, wrong[:5]


def test_compile_reports_nothing_fuzzy_and_untranslated_only_where_staff_alone_read():
    """`pybabel compile --statistics`: German complete; in the other languages the only messages it counts as not
    translated are the staff-only ones, left to English (German for Leichte Sprache) on purpose."""
    out = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d", "translations",
                          "--statistics"], cwd=ROOT, capture_output=True, text=True, check=True)
    report = out.stdout + out.stderr
    assert "fuzzy" not in report, report
    for tag in TRANSLATED:
        catalogue = load(tag)
        assert not [m.id for m in catalogue if m.id and m.fuzzy], tag
        ident = catalogue_id(tag)
        found = re.search(rf"(\d+) of (\d+) messages \(\d+%\) translated in translations/{re.escape(ident)}/", report)
        assert found, (tag, report)
        left = int(found.group(2)) - int(found.group(1))
        # pybabel counts a plural message as translated as soon as it has its forms, even empty ones; the empty
        # forms are found by missing() above.
        expected = 0 if tag in FULL_LANGUAGES else sum(
            1 for m in catalogue if m.id and staff_only(m) and not isinstance(m.string, tuple) and not m.string)
        assert left == expected, (tag, left, expected)


def test_every_configured_language_has_a_catalogue():
    for tag in TRANSLATED:
        assert catalogue_path(tag).exists(), tag
    assert set(FULL_LANGUAGES) <= set(TAGS)


# --- content written per language ---------------------------------------------------------------------------------

def _workshop_with_texts(make_workshop, **kw):
    from busapp.core.content import set_text
    from busapp.core.extensions import db

    workshop = make_workshop(title="Smartphone-Grundlagen", description="Schritt für Schritt.", language="de", **kw)
    set_text(workshop, "en", title="Smartphone basics", description="Step by step.")
    set_text(workshop, "tr", title="Akıllı telefon temelleri")
    db.session.commit()
    return workshop


def test_workshop_text_in_the_visitors_language_else_german_marked_with_its_lang(client, make_workshop):
    workshop = _workshop_with_texts(make_workshop)
    stop_id = workshop.stop_id
    en = html(client.get(f"/s/{stop_id}?lang=en"))
    assert f'<h3 id="workshop-{workshop.id}-title" lang="en" dir="ltr">Smartphone basics</h3>' in en
    assert '<p class="workshop__description" lang="en" dir="ltr">Step by step.</p>' in en
    tr = html(client.get(f"/s/{stop_id}?lang=tr"))
    assert f'<h3 id="workshop-{workshop.id}-title" lang="tr" dir="ltr">Akıllı telefon temelleri</h3>' in tr
    # No Turkish description: the German one, marked as German on the Turkish page.
    assert '<p class="workshop__description" lang="de" dir="ltr">Schritt für Schritt.</p>' in tr
    ar = html(client.get(f"/s/{stop_id}?lang=ar"))
    assert f'<h3 id="workshop-{workshop.id}-title" lang="de" dir="ltr">Smartphone-Grundlagen</h3>' in ar
    ls = html(client.get(f"/s/{stop_id}?lang=de-x-ls"))
    assert f'lang="de" dir="ltr">Smartphone-Grundlagen</h3>' in ls
    booking = html(client.get(f"/workshops/{workshop.id}/book?lang=en"))
    assert '<dd lang="en" dir="ltr">Smartphone basics</dd>' in booking


def test_a_workshop_in_another_language_falls_back_to_its_german_text(app, make_workshop):
    from busapp.core.content import set_text, text_in
    from busapp.core.extensions import db

    workshop = make_workshop(title="Akıllı telefon: ilk adımlar", language="tr")
    set_text(workshop, "de", title="Smartphone: erste Schritte")
    db.session.commit()
    title = text_in(workshop, "title", "uk")
    assert (title, title.lang) == ("Smartphone: erste Schritte", "de")
    title = text_in(workshop, "title", "tr")
    assert (title, title.lang) == ("Akıllı telefon: ilk adımlar", "tr")
    assert text_in(workshop, "title", "de-x-ls").lang == "de"


def test_arabic_text_on_a_german_page_runs_right_to_left(client, make_workshop):
    from busapp.core.content import set_text
    from busapp.core.extensions import db

    workshop = make_workshop(title="Smartphone-Grundlagen", language="de")
    set_text(workshop, "ar", title="أساسيات الهاتف الذكي")
    db.session.commit()
    page = html(client.get(f"/s/{workshop.stop_id}?lang=ar"))
    assert f'<h3 id="workshop-{workshop.id}-title" lang="ar" dir="rtl">أساسيات الهاتف الذكي</h3>' in page


def test_stop_notices_per_language(client, make_stop):
    from busapp.core.content import set_text
    from busapp.core.extensions import db
    from busapp.models import LiveStatus

    stop = make_stop(live_status=LiveStatus.LATE, live_note="Wir kommen 20 Minuten später.")
    set_text(stop, "uk", live_note="Ми запізнюємося на 20 хвилин.")
    db.session.commit()
    assert '<p class="live__text" lang="uk" dir="ltr">Ми запізнюємося на 20 хвилин.</p>' in html(client.get(f"/s/{stop.id}?lang=uk"))
    assert '<p class="live__text" lang="de" dir="ltr">Wir kommen 20 Minuten später.</p>' in html(client.get(f"/s/{stop.id}?lang=pl"))


def test_only_known_fields_take_translations(app, make_workshop):
    from busapp.core.content import set_text, text_in

    workshop = make_workshop()
    with pytest.raises(ValueError):
        set_text(workshop, "en", capacity="9")
    with app.test_request_context("/"), pytest.raises(ValueError):
        text_in(workshop, "topic")


def test_demo_data_speaks_several_languages(app):
    from busapp.dev import demo
    from busapp.core.content import text_in
    from busapp.core.extensions import db
    from busapp.models import Place, Workshop
    import sqlalchemy as sa

    demo.load(with_users=False)
    workshop = db.session.scalar(sa.select(Workshop).where(Workshop.title == "Das Smartphone kennenlernen").limit(1))
    assert {"en", "tr", "ar", "uk", "de-x-ls"} <= set(workshop.texts)
    assert text_in(workshop, "title", "ar") == "تعرّف على هاتفك الذكي"
    place = db.session.scalar(sa.select(Place).where(Place.finding_note.startswith("Der Bus steht an der Seite")).limit(1))
    assert text_in(place, "finding_note", "tr") == "Otobüs belediye binası tarafında duruyor."


def test_bar_chart_mirrors_right_to_left():
    from busapp.feedback.charts import LABEL_WIDTH, WIDTH, bar_chart

    ltr = str(bar_chart([("جيد", 4.0)], scale_max=5, rtl=False))
    rtl = str(bar_chart([("جيد", 4.0)], scale_max=5, rtl=True))
    bar = lambda svg: [float(v) for v in re.search(r'<rect class="chart__bar" x="([\d.]+)" [^>]*width="([\d.]+)"', svg).groups()]
    x, width = bar(ltr)
    assert x == LABEL_WIDTH
    rx, rwidth = bar(rtl)
    assert rwidth == width and rx + rwidth == WIDTH - LABEL_WIDTH  # the bar grows leftwards from the axis
    label = re.search(r'<text class="chart__label" x="([\d.]+)" [^>]*text-anchor="(\w+)"', rtl).groups()
    assert float(label[0]) > WIDTH - LABEL_WIDTH and label[1] == "start"  # labels on the right


def test_the_stylesheets_use_logical_properties_only():
    physical = re.compile(r"(?<![\w-])(margin|padding|border)-(left|right)\b|(?<![\w-])(left|right)\s*:|"
                          r"text-align\s*:\s*(left|right)|float\s*:\s*(left|right)")
    found = []
    for css in sorted((ROOT / "static" / "css").glob("*.css")):
        text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), css.read_text(encoding="utf-8"),
                      flags=re.S)
        for number, line in enumerate(text.splitlines(), 1):
            if physical.search(line):
                found.append(f"{css.name}:{number}: {line.strip()}")
    assert not found, found


# What a phone downloads on its first visit to the home page (HTML and every file it links), uncompressed. German
# with the demo tour is some 150 kB; Cyrillic and Arabic script take two bytes a letter in UTF-8 (the scripts'
# sentences are written as UTF-8 too, |json_text, not as six-byte \uXXXX escapes: Ukrainian 160.3 to 152.9 kB).
FIRST_VISIT_BUDGET = 158_000


def test_first_visit_weight_stays_in_budget_and_carries_one_language(client, make_workshop):
    from flask_babel import force_locale

    make_workshop()
    send_now = {}
    for tag in TAGS:
        with client.application.test_request_context(), force_locale(catalogue_id(tag)):
            send_now[tag] = gettext("Send now")
    assert len(set(send_now.values())) == len(TAGS)  # each language has its own words for it
    for tag in TAGS:
        page = client.get(f"/?lang={tag}").get_data()
        assets = set(re.findall(rb'(?:href|src)="(/static/[^"]+)"', page))
        total = len(page) + sum(len(fetch_bytes(client, a.decode())) for a in assets)
        assert total <= FIRST_VISIT_BUDGET, (tag, total)
        text = page.decode()
        strings = json.loads(htmllib.unescape(re.search(r"id=\"pwa-strings\" content='([^']*)'", text).group(1)))
        assert strings["send_now"] == send_now[tag], tag
        others = [t for t in TAGS if send_now[t] != send_now[tag]
                  and (send_now[t] in text or json.dumps(send_now[t])[1:-1] in text)]
        assert not others, (tag, others)


# Typical informal second-person forms in Polish ("Ty", its cases and possessives, verbs in the second person
# singular, slash forms for gender). The glossary decides "Państwo" and impersonal forms; short action labels on
# buttons ("Wyślij", "Pokaż bilet") are the usual neutral form of a Polish button and are not on this list.
POLISH_INFORMAL = re.compile(
    r"\b(ty|cię|ciebie|tobie|tobą|twój|twoja|twoje|twojego|twojej|twoich|twoim|twoją|twoimi|jesteś|masz|możesz|"
    r"chcesz|musisz|potrzebujesz|będziesz|zobaczysz|dostaniesz|otrzymasz|znajdziesz|podasz|zarezerwujesz|otworzysz|"
    r"\w+łeś|\w+łaś)\b|\(-?a\)|\(-aś\)", re.IGNORECASE)


def test_polish_addresses_people_as_panstwo_never_with_ty():
    with open("translations/pl/LC_MESSAGES/messages.po", "rb") as fh:
        catalogue = read_po(fh)
    informal = []
    for message in catalogue:
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        informal += [f"{message.id!r}: {s}" for s in strings if s and POLISH_INFORMAL.search(s)]
    assert informal == []
    assert POLISH_INFORMAL.search("Na jakim warsztacie byłeś(-aś)?") and POLISH_INFORMAL.search("Twoje miejsce")
