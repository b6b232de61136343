"""Languages: German by default, English on request or by choice, locale formats, and a safe language switch."""
from __future__ import annotations

import html as htmllib
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from busapp.core.i18n import _widen, select_locale, weekday_date

BERLIN = ZoneInfo("Europe/Berlin")


def html(response) -> str:
    return response.get_data(as_text=True)


def html_tag(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group(0)


def switch(client, lang: str, page: str):
    """What the header's language switch sends: a GET to the page itself with lang and remember."""
    joiner = "&" if "?" in page else "?"
    return client.get(f"{page}{joiner}lang={lang}&remember=1")


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


def test_german_is_the_default(client):
    page = html(client.get("/"))
    assert html_tag(page) == '<html lang="de" dir="ltr">'
    assert "Nächste Halte" in page and ">Sprache (<span lang=\"en\">Language</span>):<" in page


@pytest.mark.parametrize("header", ["en", "en-US,en;q=0.9", "en-GB;q=0.8, fr;q=0.5"])
def test_english_from_the_browser(client, header):
    page = html(client.get("/", headers={"Accept-Language": header}))
    assert html_tag(page) == '<html lang="en" dir="ltr">'
    assert "Upcoming stops" in page and ">Language:<" in page


@pytest.mark.parametrize("header", ["fr", "sv-SE", "", "*;q=0.1", "x" * 300])
def test_other_languages_fall_back_to_german(client, header):
    assert 'lang="de"' in html_tag(html(client.get("/", headers={"Accept-Language": header})))


def test_switch_keeps_the_page_and_its_query_and_is_remembered(client, make_stop):
    stop = make_stop()
    page = f"/?district={stop.district.slug}"
    response = switch(client, "en", page)
    assert response.status_code == 303
    assert response.headers["Location"] == page
    cookie = session_cookies(response)[0]
    assert "Expires=" in cookie  # kept beyond this browser session
    # Remembered over the browser's own language, on every page.
    for path in (page, f"/s/{stop.id}", f"/d/{stop.district.slug}"):
        html_page = html(client.get(path, headers={"Accept-Language": "de"}))
        assert 'lang="en"' in html_tag(html_page), path
    switch(client, "de", "/")
    assert 'lang="de"' in html_tag(html(client.get("/", headers={"Accept-Language": "en"})))


def test_switch_links_on_every_page_lead_to_that_page_with_its_query(client, make_stop):
    stop = make_stop()
    for path, query in (("/", []), (f"/s/{stop.id}", []), (f"/d/{stop.district.slug}", [("district", "a&b")]),
                        ("/d/unknown", []), ("/barrierefreiheit", [("lang", "en")])):
        url = path + ("?" + "&".join(f"{k}={v.replace('&', '%26')}" for k, v in query) if query else "")
        page = html(client.get(url))
        start = page.index('class="lang-picker"')
        picker = page[start:page.index("</details>", start)]
        links = re.findall(r'<a href="([^"]+)" data-lang-switch="([^"]+)"', picker)
        assert [tag for _href, tag in links] == list(client.application.config["LANGUAGES"]), url
        for href, tag in links:
            href = htmllib.unescape(href)
            assert href.startswith(f"{path}?"), (url, href)
            sent = parse_qsl(href.split("?", 1)[1], keep_blank_values=True)
            assert sent == [(k, v) for k, v in query if k != "lang"] + [("lang", tag), ("remember", "1")], url
        assert "csrf_token" not in picker


def test_switch_drops_only_its_own_parameters_and_keeps_the_rest_as_sent(client):
    response = switch(client, "de", "/d/moisling?x=1&q=%0d%0a&x=2")
    assert response.status_code == 303
    assert response.headers["Location"] == "/d/moisling?x=1&q=%0d%0a&x=2"
    response = client.get("/d/moisling?lang=en&remember=1&x=1")
    assert response.headers["Location"] == "/d/moisling?x=1"


def test_lang_parameter_gives_a_shareable_english_link_without_changing_the_choice(client):
    response = client.get("/?lang=en")
    assert 'lang="en"' in html_tag(html(response))
    assert not session_cookies(response)
    assert 'lang="de"' in html_tag(html(client.get("/")))


def test_public_pages_set_no_cookie_for_a_first_visit(client, make_workshop):
    workshop = make_workshop()
    stop = workshop.stop
    for path in ("/", f"/s/{stop.id}", f"/d/{stop.district.slug}", "/barrierefreiheit", "/offline", "/?lang=en"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not response.headers.getlist("Set-Cookie"), path
        assert "csrf_token" not in html(response), path
    # A form page still hands out its token in a session cookie.
    assert session_cookies(client.get(f"/workshops/{workshop.id}/book"))


@pytest.mark.parametrize("path", [
    "//evil.example", "///evil.example", "/\\evil.example", "/\t/evil.example", "/\r\nSet-Cookie: x=1",
    "/%2F/evil.example",
])
def test_switch_never_redirects_off_site(client, path):
    response = client.get("/", query_string="lang=en&remember=1", environ_overrides={"PATH_INFO": path})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and not any(ord(c) < 0x21 or ord(c) == 0x7F for c in location), location


def test_the_old_post_switch_is_gone(client):
    assert client.post("/language", data={"lang": "en", "next": "/"}).status_code in (404, 405)
    assert 'lang="de"' in html_tag(html(client.get("/")))


def test_switch_to_an_unknown_language_changes_nothing(client):
    response = switch(client, "xx", "/")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert not session_cookies(response)
    assert 'lang="de"' in html_tag(html(client.get("/")))


def test_right_to_left_languages_set_dir(app, client):
    app.config["LANGUAGES"] = {**app.config["LANGUAGES"], "ar": "العربية"}
    assert html_tag(html(client.get("/?lang=ar"))) == '<html lang="ar" dir="rtl">'


def test_dates_weekdays_and_times_per_locale(client, make_stop, now):
    # A Friday, with a start time that is not the same in UTC.
    day = (now.astimezone(BERLIN) + timedelta(days=10)).date()
    day += timedelta(days=(4 - day.weekday()) % 7)
    start = datetime(day.year, day.month, day.day, 14, 30, tzinfo=BERLIN)
    stop = make_stop(starts_at=start, hours=3)
    german = html(client.get(f"/s/{stop.id}"))
    assert f"Freitag, {day.day}. " in german and "14:30" in german and "17:30" in german
    english = html(client.get(f"/s/{stop.id}", headers={"Accept-Language": "en"}))
    # A German public service's English pages use the 24-hour clock.
    assert f"Friday, " in english and "14:30" in english and "17:30" in english
    assert not re.search(r"\d[\s\u202f]?[AP]M\b", english)
    listing_de = html(client.get(f"/d/{stop.district.slug}"))
    listing_en = html(client.get(f"/d/{stop.district.slug}", headers={"Accept-Language": "en"}))
    assert re.search(rf"Freitag, {day.day}\. \w+<", listing_de)
    assert re.search(rf"Friday, \w+ {day.day}<", listing_en)


def test_weekday_date_spells_out_weekday_and_month(app):
    value = datetime(2026, 12, 4, 9, 0, tzinfo=ZoneInfo("UTC"))
    with app.test_request_context("/"):
        with force_locale("de"):
            assert weekday_date(value) == "Freitag, 4. Dezember"
        with force_locale("en"):
            assert weekday_date(value) == "Friday, December 4"
        with force_locale("tr"):
            assert weekday_date(value) == "4 Aralık Cuma"


@pytest.mark.parametrize("value", [
    datetime(2026, 3, 28, 23, 30, tzinfo=ZoneInfo("UTC")),  # the night the clocks go forward: already Sunday
    datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo("UTC")),  # the night they go back
    datetime(2026, 12, 4, 13, 5, tzinfo=ZoneInfo("UTC")),
])
def test_date_and_time_filters_match_flask_babel(app, value):
    from flask_babel import format_date, format_time

    from busapp.core.i18n import date_filter, time_filter

    with app.test_request_context("/"):
        for locale in ("de", "en", "tr"):
            with force_locale(locale):
                for fmt in ("short", "medium", "long", "full"):
                    assert date_filter(value, fmt) == format_date(value, fmt), (locale, fmt)
                    assert time_filter(value, fmt) == format_time(value, fmt), (locale, fmt)
                assert date_filter(value.date(), "long") == format_date(value.date(), "long")
                assert date_filter(value, "d.M.") == format_date(value, "d.M.")


def test_weekday_date_uses_the_city_day_not_the_utc_day(app):
    late_evening_utc = datetime(2026, 12, 3, 23, 30, tzinfo=ZoneInfo("UTC"))  # already Friday in Lübeck
    with app.test_request_context("/"), force_locale("de"):
        assert weekday_date(late_evening_utc) == "Freitag, 4. Dezember"


@pytest.mark.parametrize("pattern,expected", [
    ("E, d. MMMM", "EEEE, d. MMMM"), ("E, MMM d", "EEEE, MMMM d"), ("EEEE d MMMM", "EEEE d MMMM"),
    ("d 'de' MMM E", "d 'de' MMMM EEEE"), ("'Week' E", "'Week' EEEE"),
])
def test_widen(pattern, expected):
    assert _widen(pattern) == expected


def test_locale_outside_a_request_is_german(app):
    assert select_locale() == "de"
