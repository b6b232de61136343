"""The town profile (busapp/core/townprofile.py): everything that is one town's comes from one folder, a broken one is
refused with every problem named, `flask town init` starts one, and the settings of the environment still win."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from busapp import create_app
from busapp.core import townprofile
from busapp.core.config import ConfigError

ROOT = townprofile.ROOT


def _copy(tmp_path: Path, name: str = "musterstadt") -> Path:
    folder = tmp_path / name
    shutil.copytree(townprofile.TOWNS / name, folder)
    return folder


def _edit(folder: Path, old: str, new: str) -> None:
    path = folder / "town.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_profiles_load_with_their_own_facts():
    luebeck, muster = townprofile.load("luebeck"), townprofile.load("musterstadt")
    assert luebeck.name.pick("de") == "Lübeck" and luebeck.municipality_key == "01003000"
    assert luebeck.holiday_subdivision == "SH" and luebeck.time_zone == "Europe/Berlin" and not luebeck.fictional
    assert muster.name.pick("de") == "Musterstadt" and muster.holiday_subdivision == "BB" and muster.fictional
    assert muster.logo is not None and muster.logo.name == "logo.svg" and luebeck.logo is None
    assert muster.brand != luebeck.brand
    assert townprofile.load(None).key == "luebeck"  # the default, so an existing installation keeps working


def test_texts_fall_back_to_the_base_language_then_german():
    name = townprofile.load("luebeck").official_name
    assert name.pick("en") == "Hanseatic City of Lübeck" and name.pick("ru") == "Ганзейский город Любек"
    assert name.pick("de-x-ls") == "Hanse-Stadt Lübeck"
    assert name.pick("fr") == "Hansestadt Lübeck" and name.pick(None) == "Hansestadt Lübeck"
    assert townprofile.Texts({"de": "Stadt"}).pick("de-x-ls") == "Stadt"


def test_a_broken_profile_is_refused_with_every_problem_named(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, 'time_zone = "Europe/Berlin"', 'time_zone = "Europe/Lubeck"')
    _edit(folder, 'holidays = "BB"', 'holidays = "XX"')
    _edit(folder, 'brand = "#2e6b3f"', 'brand = "#9fd4a8"')  # pale green: white text on it cannot be read
    _edit(folder, 'municipality_key = "12099999"', 'municipality_key = "1209"')
    _edit(folder, 'phone = ""', 'phone = ""\nfax = "1"')
    _edit(folder, 'state = {', 'stat = {')
    with pytest.raises(townprofile.ProfileError) as caught:
        townprofile.load(str(folder))
    message = str(caught.value)
    for words in ("time_zone must be an IANA time zone", "holidays must be one of", "is too light",
                  "municipality_key must be the 8-digit", "[contact] has no entry 'fax'", "[town] has no entry 'stat'",
                  "state needs a German text"):
        assert words in message, words
    assert message.count("\n- ") == 7


def test_the_app_refuses_to_start_with_a_broken_profile_and_says_why(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, 'file = "districts.geojson"', 'file = "stadtteile.csv"')
    with pytest.raises(ConfigError, match="names 'stadtteile.csv', but there is no such file"):
        create_app({"APP_ENV": "testing", "TOWN": str(folder)})
    with pytest.raises(ConfigError, match="Known profiles: .*luebeck.*musterstadt"):
        create_app({"APP_ENV": "testing", "TOWN": "atlantis"})


def test_a_logo_with_a_script_or_an_outside_link_is_refused(tmp_path):
    folder = _copy(tmp_path)
    logo = folder / "logo.svg"
    clean = logo.read_text()
    for bad in ('<script>alert(1)</script>', '<image href="https://example.org/x.png"/>', '<rect onclick="x()"/>'):
        logo.write_text(clean.replace("</svg>", bad + "</svg>"))
        with pytest.raises(townprofile.ProfileError, match="scripts or links"):
            townprofile.load(str(folder))
    logo.write_text(clean)
    assert townprofile.load(str(folder)).logo == logo.resolve()


def test_contrast_is_measured_as_wcag_does():
    assert round(townprofile.contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(townprofile.contrast("#767676", "#ffffff"), 2) == 4.54  # the lightest grey that passes AA
    assert townprofile.contrast("#0b4f6c", "#ffffff") > 4.5


def test_the_profile_fills_the_settings_and_the_environment_still_wins(monkeypatch):
    app = create_app({"APP_ENV": "testing", "TOWN": "musterstadt"})
    assert app.config["SITE_NAME"] == "Digitalwerkstatt-Bus Musterstadt" and app.config["CITY_NAME"] == "Musterstadt"
    assert app.config["OPENDATA_PUBLISHER"] == "Stadt Musterstadt" and app.config["OPENDATA_REGION"] == "Brandenburg"
    assert app.config["OPENDATA_MUNICIPALITY_KEY"] == "12099999" and app.config["TEAM_PHONE"] == "0123 456789 (Beispiel)"
    assert app.config["ACCESSIBILITY_CONTACT"] == "barrierefreiheit@musterstadt.example"
    monkeypatch.setenv("SITE_NAME", "Digitalbus Muster")
    monkeypatch.setenv("TIMEZONE", "Europe/Vienna")
    app = create_app({"APP_ENV": "testing", "TOWN": "musterstadt"})
    assert app.config["SITE_NAME"] == "Digitalbus Muster" and app.config["TIMEZONE"] == "Europe/Vienna"
    monkeypatch.setenv("TOWN", "musterstadt")
    monkeypatch.delenv("SITE_NAME")
    assert create_app({"APP_ENV": "testing"}).config["CITY_NAME"] == "Musterstadt"


def test_production_refuses_the_example_town(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://digitalbus.example.org")
    with pytest.raises(ConfigError, match="not a real town"):
        create_app({"APP_ENV": "production", "TOWN": "musterstadt", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app({"APP_ENV": "production", "TOWN": "luebeck", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["CITY_NAME"] == "Lübeck"


def test_town_init_starts_a_profile_that_says_what_is_missing_until_filled_in(tmp_path):
    app = create_app({"APP_ENV": "testing"})
    runner = app.test_cli_runner()
    folder = tmp_path / "bad-oldesloe"
    result = runner.invoke(args=["town", "init", "Bad Oldesloe", "--folder", str(folder)])
    assert result.exit_code == 0, result.output
    assert "flask town districts" in result.output and (folder / "districts.csv").is_file()
    text = (folder / "town.toml").read_text(encoding="utf-8")
    assert 'name = "Bad Oldesloe"' in text and "Lübeck" not in text
    with pytest.raises(townprofile.ProfileError) as caught:
        townprofile.load(str(folder))
    for missing in ("state needs a German text", "law needs a German text", "enforcement_name must be filled in",
                    "enforcement_url must be filled in"):
        assert missing in str(caught.value)
    _edit(folder, 'state = ""', 'state = "Schleswig-Holstein"')
    _edit(folder, 'holidays = ""', 'holidays = "SH"')
    _edit(folder, 'law = ""', 'law = "LBGG"')
    _edit(folder, 'enforcement_name = ""', 'enforcement_name = "Beschwerdestelle"')
    _edit(folder, 'enforcement_url = ""', 'enforcement_url = "https://beschwerde.example"')
    made = create_app({"APP_ENV": "testing", "TOWN": str(folder)})
    assert made.config["SITE_NAME"] == "Digitalwerkstatt-Bus Bad Oldesloe"
    again = runner.invoke(args=["town", "init", "Bad Oldesloe", "--folder", str(folder)])
    assert again.exit_code != 0 and "exists already" in again.output
    assert townprofile.key_for("Groß Grönau") == "gross-groenau"


def test_public_holidays_are_the_towns_region(app):
    easter_sunday, reformation_day, corpus_christi = date(2026, 4, 5), date(2026, 10, 31), date(2026, 6, 4)
    from busapp.planning import service

    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert service.holiday(easter_sunday) is None  # not in Schleswig-Holstein
        assert service.holiday(reformation_day) == "Reformationstag"
        app.config["TOWN_PROFILE"] = townprofile.load("musterstadt")
        assert service.holiday(easter_sunday) == "Ostersonntag"  # Brandenburg
        assert service.holiday(corpus_christi) is None


def test_the_towns_colours_and_logo_are_served_long_cached(tmp_path):
    app = create_app({"APP_ENV": "testing", "TOWN": "musterstadt"})
    client = app.test_client()
    html = client.get("/barrierefreiheit").get_data(as_text=True)
    version = app.config["TOWN_PROFILE"].version()
    assert f'<link rel="stylesheet" href="/town/style.css?v={version}">' in html
    assert '<meta name="theme-color" content="#2e6b3f">' in html
    assert f'<img class="town-logo" src="/town/logo.svg?v={version}" alt="" height="48">' in html
    style = client.get(f"/town/style.css?v={version}")
    assert style.mimetype == "text/css" and "--brand: #2e6b3f;" in style.get_data(as_text=True)
    assert "immutable" in style.headers["Cache-Control"]
    assert "no-cache" in client.get("/town/style.css?v=old").headers["Cache-Control"]
    logo = client.get(f"/town/logo.svg?v={version}")
    assert logo.mimetype == "image/svg+xml" and logo.get_data() == (ROOT / "towns/musterstadt/logo.svg").read_bytes()
    assert create_app({"APP_ENV": "testing"}).test_client().get("/town/logo.svg").status_code == 404


def test_a_profile_is_started_and_checked_without_the_app(tmp_path):
    """On a server the profile comes before TOWN names it: `python -m busapp.core.townprofile init|check` need no app."""
    from click.testing import CliRunner

    folder = tmp_path / "town"
    made = CliRunner().invoke(townprofile.init_command, ["Neustadt", "--folder", str(folder)])
    assert made.exit_code == 0 and (folder / "town.toml").is_file()
    checked = CliRunner().invoke(townprofile.check_command, [str(folder)])
    assert checked.exit_code == 1 and "enforcement_name must be filled in" in checked.output
    assert CliRunner().invoke(townprofile.check_command, ["musterstadt"]).output.endswith("is complete.\n")
