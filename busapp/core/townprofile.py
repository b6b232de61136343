"""The town profile: everything in the app that belongs to one town, read from one folder.

A profile is a folder with a `town.toml` (names, time zone, holidays, contact, open-data publisher, the
accessibility statement's law and complaints body, colours), the town's districts as an official list (CSV or
GeoJSON, read by busapp/core/districtfile.py), optionally a logo (SVG) and the demo tour's places (`demo.json`). The TOWN
setting names the folder: the name of a folder under `towns/` in the checkout, or a path. Settings of
the same meaning in the environment (SITE_NAME, TIMEZONE, TEAM_PHONE, OPENDATA_PUBLISHER ...) win over single
values of the profile, so an existing installation keeps working.

Texts a resident reads (the town's name, who runs the service, the state, the accessibility law) may be given per
language: a plain string is the same in every language, a table maps language tags to texts and must have "de";
a language without its own text takes its base language's ("de-x-ls" -> "de"), then the German one.
`flask town init NAME` writes a new profile to fill in (README, "Run it for your town"); `python -m busapp.core.townprofile`
offers the same `init`, and `check` to list what is missing, without starting the app (which refuses to start with an
incomplete profile).
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parents[2]
# Where named profiles live; a TOWN setting with a slash is a path instead.
TOWNS = ROOT / "towns"
# The profile used when TOWN is not set: the town the app was first built for, so its installations keep working.
DEFAULT_TOWN = "luebeck"
PROFILE_FILE = "town.toml"
SOURCE_LANGUAGE = "de"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Text in the brand colour stands on white and on the pale panels (app.css --paper-soft); white text stands on both
# brand colours. WCAG 2.2 AA asks 4.5:1 for body text.
PANEL = "#f3f6f8"
MIN_CONTRAST = 4.5
MUNICIPALITY_KEY = re.compile(r"^\d{8}$")
MAX_LOGO_BYTES = 200_000
# The sections of town.toml and their entries (a misspelt entry is refused, not silently left at its default).
KEYS = {
    "town": ("name", "official_name", "site_name", "time_zone", "state", "country", "holidays", "fictional"),
    "contact": ("phone", "accessibility_email", "accessibility_phone"),
    "open_data": ("publisher", "municipality_key", "contributor_id", "bbox"),
    "accessibility": ("law", "enforcement_name", "enforcement_url"),
    "look": ("brand", "brand_dark", "logo"),
    "districts": ("file",),
    "demo": ("file", "phone"),
}


class ProfileError(ValueError):
    """The profile is missing or wrong; the message names the file, the entry and how to fix it."""


class Texts(dict):
    """A text in several languages ({tag: text}); `pick(tag)` takes the language's own, its base's, else German."""

    def pick(self, tag: str | None) -> str:
        tag = tag or SOURCE_LANGUAGE
        for candidate in (tag, tag.partition("-x-")[0], tag.split("-")[0], SOURCE_LANGUAGE):
            if self.get(candidate):
                return self[candidate]
        return next(iter(self.values()), "")

    def all(self) -> set[str]:
        return {v for v in self.values() if v}


@dataclass(frozen=True)
class Town:
    """One town's profile, as read and checked by load()."""

    folder: Path
    key: str
    name: Texts
    official_name: Texts
    site_name: str
    time_zone: str
    state: Texts
    country: str
    holiday_subdivision: str
    phone: str
    demo_phone: str
    accessibility_email: str
    accessibility_phone: str
    law: Texts
    enforcement_name: str
    enforcement_url: str
    publisher: str
    municipality_key: str
    contributor_id: str
    bbox: tuple[float, float, float, float] | None
    brand: str
    brand_dark: str
    logo: Path | None
    districts_file: Path
    demo_file: Path | None
    fictional: bool = False

    def style(self) -> str:
        """The stylesheet that gives the app the town's colours (served as /town/style.css)."""
        return f":root {{ --brand: {self.brand}; --brand-dark: {self.brand_dark}; }}\n"

    def version(self) -> str:
        """A short hash over the town's colours and logo, for their long-cached URLs (worked out once: every page
        names them)."""
        return self._version

    @cached_property
    def _version(self) -> str:
        h = hashlib.sha256(self.style().encode())
        if self.logo:
            h.update(self.logo.read_bytes())
        return h.hexdigest()[:12]


def folder_for(ref: str | None) -> Path:
    """The folder a TOWN setting names: a path (it has a slash), else a name under towns/."""
    ref = (ref or "").strip() or DEFAULT_TOWN
    if "/" in ref or ref.startswith("."):
        return Path(ref).expanduser().resolve()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", ref):
        raise ProfileError(f"TOWN must be a profile name under {TOWNS} (lower-case letters, digits, - and _) or a "
                           f"folder path, got {ref!r}")
    return TOWNS / ref


def _texts(table: dict, key: str, where: str, required: bool = True) -> Texts:
    value = table.get(key, "")
    if isinstance(value, str):
        value = {SOURCE_LANGUAGE: value} if value.strip() else {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ProfileError(f"{where}: {key} must be a text, or a table of texts by language like "
                           f'{key} = {{ de = "…", en = "…" }}')
    texts = Texts({str(k): " ".join(v.split()) for k, v in value.items() if v.strip()})
    if required and not texts.get(SOURCE_LANGUAGE):
        raise ProfileError(f"{where}: {key} needs a German text (de), the one every other language falls back to")
    return texts


def _text(table: dict, key: str, where: str, default: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ProfileError(f"{where}: {key} must be a text in quotes, got {value!r}")
    return value.strip()


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours (#rrggbb)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _colour(table: dict, key: str, where: str, default: str) -> str:
    value = _text(table, key, where, default)
    if not HEX_COLOUR.match(value):
        raise ProfileError(f"{where}: {key} must be a colour like \"#0b4f6c\", got {value!r}")
    worst = min(contrast(value, "#ffffff"), contrast(value, PANEL))
    if worst < MIN_CONTRAST:
        raise ProfileError(f"{where}: {key} {value} is too light: white text on it, and it as text on white, must "
                           f"have a contrast of at least {MIN_CONTRAST}:1 (it has {worst:.1f}:1). Choose a darker "
                           "shade.")
    return value.lower()


def _file(folder: Path, table: dict, key: str, where: str, required: bool) -> Path | None:
    name = _text(table, key, where)
    if not name:
        if required:
            raise ProfileError(f"{where}: {key} must name a file in {folder}")
        return None
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ProfileError(f"{where}: {key} must name a file inside the profile folder, got {name!r}")
    if not path.is_file():
        raise ProfileError(f"{where}: {key} names {name!r}, but there is no such file in {folder}")
    return path


def load(ref: str | None) -> Town:
    """Read and check the profile the TOWN setting names; a ProfileError lists everything there is to fix."""
    folder = folder_for(ref)
    path = folder / PROFILE_FILE
    if not path.is_file():
        known = ", ".join(sorted(p.parent.name for p in TOWNS.glob(f"*/{PROFILE_FILE}")))
        raise ProfileError(f"TOWN: there is no town profile at {path}. Known profiles: {known}. Start a new one "
                           "with: flask town init NAME")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not readable as TOML ({exc})") from exc
    problems: list[str] = []

    def take(check, *args, default=None):
        """The checked value, or the default with the problem noted (all problems are reported at once)."""
        try:
            return check(*args)
        except ProfileError as exc:
            problems.append(str(exc))
            return default

    for name in data:
        if name not in KEYS:
            problems.append(f"{path}: unknown section [{name}]; a profile has {', '.join(f'[{k}]' for k in KEYS)}")

    def section(name: str) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"{path}: [{name}] must be a section")
            return {}
        for key in value:
            if key not in KEYS[name]:
                problems.append(f"{path}: [{name}] has no entry {key!r}; it knows {', '.join(KEYS[name])}")
        return value

    town, contact, opendata = section("town"), section("contact"), section("open_data")
    access, look, districts, demo = section("accessibility"), section("look"), section("districts"), section("demo")
    where = {name: f"{path} [{name}]" for name in KEYS}

    def texts(table: str, key: str) -> Texts:
        return take(_texts, data.get(table, {}), key, where[table], default=Texts({SOURCE_LANGUAGE: "?"}))

    def text(table: str, key: str, default: str = "", required: bool = False) -> str:
        value = take(_text, data.get(table, {}), key, where[table], default, default="")
        if required and not value:
            problems.append(f"{where[table]}: {key} must be filled in")
        return value

    name = texts("town", "name")
    time_zone = text("town", "time_zone", "Europe/Berlin")
    take(_time_zone, time_zone, where["town"])
    country = text("town", "country", "DE").upper()
    subdivision = text("town", "holidays")
    take(_holidays, country, subdivision, where["town"])
    key = text("open_data", "municipality_key")
    if key and not MUNICIPALITY_KEY.match(key):
        problems.append(f"{where['open_data']}: municipality_key must be the 8-digit official municipality key "
                        f"(Amtlicher Gemeindeschlüssel), got {key!r}")
    contributor = text("open_data", "contributor_id")
    if contributor and not contributor.startswith("http://dcat-ap.de/def/contributors/"):
        problems.append(f"{where['open_data']}: contributor_id must be an address from GovData's list, starting "
                        f"with http://dcat-ap.de/def/contributors/, got {contributor!r}")
    bbox = take(_bbox, opendata.get("bbox"), where["open_data"])
    enforcement_url = text("accessibility", "enforcement_url", required=True)
    if enforcement_url and not enforcement_url.startswith(("https://", "http://")):
        problems.append(f"{where['accessibility']}: enforcement_url must be a web address, got {enforcement_url!r}")
    brand = take(_colour, look, "brand", where["look"], "#0b4f6c", default="#0b4f6c")
    official_name = texts("town", "official_name")
    profile = Town(
        folder=folder,
        key=folder.name,
        name=name,
        official_name=official_name,
        site_name=text("town", "site_name") or f"Digitalwerkstatt-Bus {name.pick(None)}",
        time_zone=time_zone,
        state=texts("town", "state"),
        country=country,
        holiday_subdivision=subdivision,
        phone=text("contact", "phone"),
        demo_phone=text("demo", "phone"),
        accessibility_email=text("contact", "accessibility_email"),
        accessibility_phone=text("contact", "accessibility_phone"),
        # The statement puts the full stop after the law's name ("The rules are in: %(law)s."); one written in the
        # profile would be a second.
        law=Texts({k: v.rstrip(". ") for k, v in texts("accessibility", "law").items()}),
        enforcement_name=text("accessibility", "enforcement_name", required=True),
        enforcement_url=enforcement_url,
        publisher=text("open_data", "publisher") or official_name.pick(None),
        municipality_key=key,
        contributor_id=contributor,
        bbox=bbox,
        brand=brand,
        brand_dark=take(_colour, look, "brand_dark", where["look"], brand, default=brand),
        logo=take(_logo, folder, look, where["look"]),
        districts_file=take(_file, folder, districts, "file", where["districts"], True),
        demo_file=take(_file, folder, demo, "file", where["demo"], False),
        fictional=town.get("fictional") is True,
    )
    if problems:
        raise ProfileError("The town profile needs fixing:\n- " + "\n- ".join(problems))
    return profile


def _time_zone(name: str, where: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"{where}: time_zone must be an IANA time zone such as Europe/Berlin, got {name!r}") \
            from None


def _holidays(country: str, subdivision: str, where: str) -> None:
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ProfileError(f"{where}: country must be a two-letter country code the holidays package knows, like "
                           f"DE, got {country!r}")
    if subdivision and subdivision not in supported[country]:
        raise ProfileError(f"{where}: holidays must be one of {', '.join(supported[country])} for {country} (the "
                           f"region whose public holidays the planning marks), got {subdivision!r}")


def _bbox(value, where: str) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not (-180 <= value[0] < value[2] <= 180 and -90 <= value[1] < value[3] <= 90)):
        raise ProfileError(f"{where}: bbox must be [west, south, east, north] in degrees, got {value!r}")
    return tuple(float(v) for v in value)


def _logo(folder: Path, look: dict, where: str) -> Path | None:
    logo = _file(folder, look, "logo", where, required=False)
    if logo is None:
        return None
    head = logo.read_bytes()[:MAX_LOGO_BYTES + 1]
    if logo.suffix.lower() != ".svg" or b"<svg" not in head:
        raise ProfileError(f"{where}: logo must be an SVG file, got {logo.name!r}")
    if len(head) > MAX_LOGO_BYTES:
        raise ProfileError(f"{where}: logo {logo.name!r} is larger than {MAX_LOGO_BYTES // 1000} kB; a phone on a "
                           "weak signal loads it with every first visit")
    if re.search(rb"<script|<foreignObject|\son\w+\s*=|href\s*=\s*[\"']\s*(?:https?:|javascript:|data:)|@import",
                 head, re.I):
        raise ProfileError(f"{where}: logo {logo.name!r} has scripts or links to other files; the app loads "
                           "nothing from elsewhere")
    return logo


# --- a new profile ------------------------------------------------------------------------------------------------

SKELETON = """\
# Town profile of {name}: everything in the app that is this town's. Fill in each entry, then start the app with
# TOWN={key} (README, "Run it for your town"). Texts residents read may be given per language,
# {{ de = "…", en = "…" }}; a language without its own text takes the German one.

[town]
# The short name: after the postcode in addresses, and in sentences such as "{name} is writing its digital strategy".
name = "{name}"
# Who runs the service, as it signs: page footer, posters, the accessibility statement.
official_name = {{ de = "Stadt {name}", en = "Town of {name}" }}
# Page titles, the calendar's organiser and the installed app's name.
site_name = "Digitalwerkstatt-Bus {name}"
time_zone = "Europe/Berlin"
# The federal state: the accessibility statement's law, the region of addresses in open data.
state = ""
# Public holidays the planning marks: country and region as the `holidays` package names them, for Germany one of
# BB BE BW BY HB HE HH MV NI NW RP SH SL SN ST TH.
country = "DE"
holidays = ""

[contact]
# The bus team's telephone, on every stop page and ticket (empty: none is shown).
phone = ""
# Where residents report a barrier (the accessibility statement).
accessibility_email = ""
accessibility_phone = ""

[open_data]
# The DCAT-AP.de catalogue (/api/v1/catalog.jsonld) that GovData harvests: who publishes the data, the town's
# 8-digit Amtlicher Gemeindeschlüssel, and the contributor id GovData gives the town (or its state).
publisher = "Stadt {name}"
municipality_key = ""
contributor_id = ""
# The area the data covers, [west, south, east, north] in degrees; without it, the box around the districts.
# bbox = [0.0, 0.0, 0.0, 0.0]

[accessibility]
# The state's law for accessible public websites and apps ("The rules are in: …"), and where residents turn when
# the town's answer does not help (the state's complaints body, Durchsetzungs- oder Beschwerdestelle).
law = ""
enforcement_name = ""
enforcement_url = ""

[look]
# The app's main colour and its darker shade: white text on them and they as text on white need 4.5:1 contrast.
brand = "#0b4f6c"
brand_dark = "#083a50"
# The town's logo, an SVG file in this folder, shown beside "A service of: …" (empty: none).
logo = ""

[districts]
# The official list of the districts: a CSV (number and name, optionally latitude and longitude) or a GeoJSON file
# with the boundaries. Replace districts.csv with the town's own and load it with: flask town districts
file = "districts.csv"

[demo]
# Places for the demo tour (flask seed-demo); without a file each district gets an example meeting point.
file = ""
# The bus team's example number shown in development.
phone = ""
"""

SKELETON_DISTRICTS = "Nr;Stadtteil;Breite;Länge\n01;Mitte;;\n"


def key_for(name: str) -> str:
    """A profile folder's name for a town's name: "Bad Oldesloe" -> "bad-oldesloe"."""
    import unicodedata

    text = name.translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe",
                                         "Ü": "ue"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def start(name: str, folder: Path | None = None) -> Path:
    """Write a new profile for the town `name` (town.toml to fill in and a one-district list); returns its folder.
    Refuses to write into a folder that has a profile already."""
    name = " ".join(name.split())
    key = key_for(name)
    if not key or '"' in name or "\\" in name:
        raise ProfileError(f"{name!r} is not usable as a town's name")
    folder = (folder or TOWNS / key).resolve()
    if (folder / PROFILE_FILE).exists():
        raise ProfileError(f"{folder / PROFILE_FILE} exists already; it is left as it is")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PROFILE_FILE).write_text(SKELETON.format(name=name, key=key if folder == TOWNS / key else folder),
                                       encoding="utf-8")
    districts = folder / "districts.csv"
    if not districts.exists():
        districts.write_text(SKELETON_DISTRICTS, encoding="utf-8")
    return folder


@click.command("init")
@click.argument("name")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the profile (default: towns/<name> in the checkout).")
def init_command(name: str, folder: Path | None) -> None:
    """Start a profile for the town NAME: a town.toml to fill in and a districts.csv to replace."""
    try:
        made = start(name, folder)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    ref = made.name if made.parent == TOWNS else str(made)
    click.echo(f"Started the profile of {name} in {made}.")
    click.echo(f"1. Fill in {made / PROFILE_FILE}; python -m busapp.core.townprofile check {made} says what is missing.")
    click.echo(f"2. Put the town's official list of districts (CSV or GeoJSON) in place of {made / 'districts.csv'}.")
    click.echo(f"3. Set TOWN={ref} and load the districts: flask town districts")


@click.command("check")
@click.argument("town", required=False)
def check_command(town: str | None) -> None:
    """Read the profile TOWN (a name under towns/ or a folder) and list everything there is to fix."""
    try:
        profile = load(town)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{profile.folder}: the profile of {profile.name.pick(None)} is complete.")


# `flask town …`: init (above) needs no app; show and the districts (busapp/planning/districts.py) do.
town_cli = AppGroup("town", help="The town profile (TOWN): start a new one, show it, load the official districts.")
town_cli.add_command(init_command)


@town_cli.command("show")
def show_command() -> None:
    """Print the profile in use: where it is, its names, region, colours and files."""
    from flask import current_app

    profile = current()
    click.echo(f"Profile: {profile.folder}{' (an example, not a real town)' if profile.fictional else ''}")
    for label, value in (("Name", profile.name), ("Runs the service", profile.official_name),
                         ("State", profile.state)):
        click.echo(f"{label}: " + ", ".join(f"{k}={v}" for k, v in value.items()))
    cfg = current_app.config
    click.echo(f"Site name: {cfg['SITE_NAME']}")
    click.echo(f"Time zone: {cfg['TIMEZONE']}; public holidays: {profile.country} "
               f"{profile.holiday_subdivision or '(whole country)'}")
    click.echo(f"Open data: {cfg['OPENDATA_PUBLISHER']}, municipality key {cfg['OPENDATA_MUNICIPALITY_KEY'] or '(none)'}")
    click.echo(f"Colours: {profile.brand} {profile.brand_dark}; logo: {profile.logo or '(none)'}")
    click.echo(f"Districts: {profile.districts_file}; demo places: {profile.demo_file or '(none)'}")


# --- in the app ---------------------------------------------------------------------------------------------------

class LocalTown:
    """The profile for templates: its texts in the page's language ({{ town.name }}, {{ town.official_name }})."""

    def __init__(self, town: Town, tag: str):
        self._town, self._tag = town, tag

    def __getattr__(self, name: str):
        value = getattr(self._town, name)
        return value.pick(self._tag) if isinstance(value, Texts) else value


def current() -> Town:
    """The running app's town profile."""
    from flask import current_app

    return current_app.config["TOWN_PROFILE"]


def here() -> LocalTown:
    """The running app's town, its texts in the current language."""
    from .i18n import current_tag

    return LocalTown(current(), current_tag())


def asset_urls() -> list[str]:
    """The town's own files every page loads (its colours, its logo), for the service worker's precache list."""
    from flask import url_for

    town = current()
    urls = [url_for("town.style", v=town.version())]
    if town.logo:
        urls.append(url_for("town.logo", v=town.version()))
    return urls


def _file_response(body: bytes, mimetype: str):
    from flask import make_response, request

    from .assets import LONG_CACHE

    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Cache-Control"] = LONG_CACHE if request.args.get("v") == current().version() else "no-cache"
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)


def init_app(app) -> None:
    """/town/style.css and /town/logo.svg, and `town` in every template."""
    from flask import Blueprint, abort, url_for

    bp = Blueprint("town", __name__, url_prefix="/town")

    @bp.get("/style.css")
    def style():
        """The town's colours, loaded after the app's stylesheet."""
        return _file_response(current().style().encode(), "text/css")

    @bp.get("/logo.svg")
    def logo():
        """The town's logo from its profile (404 when it has none)."""
        town = current()
        if town.logo is None:
            abort(404)
        return _file_response(town.logo.read_bytes(), "image/svg+xml")

    app.register_blueprint(bp)
    app.cli.add_command(town_cli)

    @app.context_processor
    def town_context():
        return {"town": here()}

    def town_asset(name: str) -> str:
        return url_for(f"town.{name}", v=current().version())

    app.jinja_env.globals["town_asset"] = town_asset


if __name__ == "__main__":
    # Without the app, which refuses to start without a complete profile: `python -m busapp.core.townprofile init NAME
    # --folder DIR` starts one, `python -m busapp.core.townprofile check DIR` lists what is still to fill in.
    click.Group(commands={"init": init_command, "check": check_command})()
