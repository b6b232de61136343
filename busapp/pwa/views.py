"""Service worker, manifest and offline page views, and the sentences the offline scripts show."""
from __future__ import annotations

import hashlib
from functools import lru_cache

from babel import Locale
from flask import current_app, jsonify, make_response, render_template, request, url_for
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from flask_babel import get_locale, gettext as _, ngettext

from ..core import townprofile
from ..core.assets import static_files, static_url, version
from ..core.i18n import direction_of, html_lang, json_text, language_tag, script_dates
from . import bp

CACHE_PREFIX = "dwb-"
# Pages the visitor opened are kept across releases (a ticket must keep opening offline after an update); bump
# the number only when the way pages are stored changes.
PAGES_CACHE = CACHE_PREFIX + "pages-1"
# Public pages the worker may keep for offline use, matched against the path. Anything else (staff and coordinator
# pages, forms, sign-in) is never stored, and neither is a response that says Cache-Control: no-store.
OFFLINE_PAGES = (
    r"^/$",
    r"^/d/[\w-]+$",
    r"^/s/\d+$",
    r"^/t/[\w-]+$",
    # A booking form the visitor opened; its saved copy gets fresh idempotency keys from offline.js.
    r"^/workshops/\d+/book$",
    # The bus's feedback code and the feedback forms the visitor opened, for answering in the bus without reception.
    r"^/f$",
    r"^/f/\d+$",
    r"^/f/w/\d+$",
    r"^/offline$",
    r"^/my-bookings$",
)
# Staff pages a prepared tablet keeps for opening without network: today on the bus, and per workshop of the day
# its door list and scan page. They are never put in PAGES_CACHE and never in the browser's HTTP cache (they say
# no-store). Why keeping them in the worker's own cache is safe:
# - it stores them only when the tablet's script asks, after preparing the day with the tablet's credential, and
#   only answers made for the signed-in person (busapp/checkin/views.py, X-Staff-Copy);
# - the cache is named by that person's copy key (account and sign-in version, keyed with the app's secret), and
#   only one such cache exists: keeping pages for a new key deletes every other one;
# - it is deleted when anyone signs out or in on this device (the worker sees the POST, the signed-out page and
#   the tablet's sign-out script delete it too), when the server answers a staff page for someone else or for
#   nobody (a redirect to sign-in, 401, 403), and when the tablet learns it was revoked;
# - a copy is shown only until the time in its header (when the sign-in would expire, or the day ends).
# So a tablet that was signed out, or is used by someone else, never shows them. (Offline, the worker cannot learn
# of a sign-out made on another device: such a copy lasts at most until the time in its header.)
STAFF_PAGES = (
    r"^/staff/$",
    r"^/staff/workshops/\d+$",
    r"^/staff/workshops/\d+/scan$",
    r"^/admin/mitreden/papier$",  # paper cards (busapp/participation/paper.py)
    r"^/admin/mitreden/\d+/papier$",
)
STAFF_CACHE_PREFIX = CACHE_PREFIX + "staff-"
STAFF_COPY_HEADER = "X-Staff-Copy"
# Install-time art is fetched by the browser when someone installs the app; not worth a resident's data plan.
# The QR reader for check-in tablets (about 1 MB) is for staff only: a tablet stores it when it prepares the day
# (static/js/checkin.js), through the worker's cache for static files.
NOT_PRECACHED = ("screenshots/", "vendor/barcode-detector-")
NOT_PRECACHED_SUFFIXES = (".png",)
# Files only staff pages load: the check-in tablet's scripts and styles and the coordinators' search. A phone that
# never showed a staff page does not store them (a quarter of the offline install). A device that keeps staff pages
# (a prepared tablet: it has a staff copy cache) stores them with every release, as before, so its offline pages
# find the new release's files; and any device keeps the files a staff page loaded (cache first, by versioned URL).
STAFF_FILES = ("js/checkin.js", "js/scan.js", "js/search.js", "css/staff.css", "css/planning.css")
NAVIGATION_TIMEOUT_MS = 3500
# The scripts pick a plural form with Intl.PluralRules (CLDR categories: zero, one, two, few, many, other) and put
# the number in for {n}; the page carries each category the language has, made from a whole number of that category.
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
BACKGROUND_COLOR = "#ffffff"

ICONS = (
    # file, size, purpose
    ("icons/icon-192.png", 192, "any"),
    ("icons/icon-512.png", 512, "any"),
    ("icons/maskable-192.png", 192, "maskable"),
    ("icons/maskable-512.png", 512, "maskable"),
)
APPLE_TOUCH_ICON = ("icons/apple-touch-icon.png", 180)
SCREENSHOTS = (
    # file, width, height, form factor
    ("screenshots/narrow.png", 780, 1688, "narrow"),
    ("screenshots/wide.png", 1280, 800, "wide"),
)


@bp.record_once
def _settings(state) -> None:
    """Template helpers for the worker's strings and its kill switch (SW_KILL_SWITCH, see busapp/core/config.py)."""
    state.app.jinja_env.globals["pwa_strings"] = page_strings
    state.app.jinja_env.globals["pwa_strings_text"] = page_strings_text
    state.app.jinja_env.globals["pwa_paths"] = paths
    state.app.jinja_env.globals["pwa_paths_text"] = paths_text
    state.app.jinja_env.globals["pwa_worker_enabled"] = lambda: not current_app.config["SW_KILL_SWITCH"]


def theme_color() -> str:
    """The colour of the browser's bar and the installed app's splash: the town's brand colour (its profile)."""
    return current_app.config["TOWN_PROFILE"].brand


def paths() -> dict:
    """Paths the scripts need, taken from the app's URL map rather than written by hand in JavaScript."""
    return {
        "ticket": url_for("booking.show", token="x", lang=None)[:-1],
        "feedback": url_for("feedback.bus"),
        "pagesCache": PAGES_CACHE,
        "staffCachePrefix": STAFF_CACHE_PREFIX,
    }


def paths_text() -> Markup:
    """paths() as the page's JSON, made once per process and path prefix (every page carries it)."""
    made = current_app.extensions.setdefault("pwa_paths_text", {})
    key = request.script_root
    text = made.get(key)
    if text is None:
        text = made[key] = htmlsafe_json_dumps(paths(), dumps=current_app.json.dumps)  # as |tojson writes it
    return text


def precached_files() -> list[str]:
    """Static files the worker stores on install, on every device."""
    return [f for f in _installed_files() if f not in STAFF_FILES]


def staff_precached_files() -> list[str]:
    """Static files the worker also stores on install on a device that keeps staff pages (see STAFF_FILES)."""
    return [f for f in _installed_files() if f in STAFF_FILES]


def _installed_files() -> list[str]:
    return [
        f for f in static_files()
        if not f.startswith(NOT_PRECACHED) and not f.endswith(NOT_PRECACHED_SUFFIXES)
    ]


def release() -> str:
    """The worker's version: a hash over every static file, the worker and the pages it precaches."""
    h = hashlib.sha256()
    for name in static_files():
        h.update(f"{name}:{version(name)}\n".encode())
    env = current_app.jinja_env
    for template in ("pwa/sw.js", "pwa/offline.html", "pwa/_remove_tickets.html", "pwa/_head.html", "base.html",
                     "checkin/_offline.html"):
        source, _filename, _uptodate = env.loader.get_source(env, template)
        h.update(source.encode())
    h.update(str(current_app.config["SW_RELEASE"]).encode())
    h.update(current_app.config["TOWN_PROFILE"].version().encode())
    h.update(repr(sorted(current_app.config["LANGUAGES"])).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=32)
def plural_probes(locale: str) -> tuple[tuple[str, int], ...]:
    """(CLDR category, a whole number in it) for each category the language has among whole numbers, by Babel's
    CLDR rules; "other" is always there, with the number of the last category when no whole number is "other"
    (Russian, Ukrainian and Polish keep "other" for fractions)."""
    rule = Locale.parse(locale).plural_form
    found: dict[str, int] = {}
    for n in range(0, 1000):
        found.setdefault(rule(n), n)
    probes = [(c, found[c]) for c in PLURAL_CATEGORIES if c in found]
    if "other" not in found:
        probes.append(("other", probes[-1][1]))
    return tuple(probes)


@lru_cache(maxsize=32)
def _strings_in(locale: str) -> dict:
    return strings()


def page_strings() -> dict:
    """strings() for the page's language, made once per language: every page carries them and they are the same
    each time (some fifty translations per page otherwise)."""
    return _strings_in(str(get_locale()))


@lru_cache(maxsize=32)
def _strings_text_in(locale: str) -> Markup:
    return json_text(_strings_in(locale))


def page_strings_text() -> Markup:
    """page_strings() as the page's JSON (|json_text), also made once per language: serialising some fifty
    sentences was a tenth of a ticket page's time."""
    return _strings_text_in(str(get_locale()))


def strings() -> dict:
    """The sentences the offline scripts show, in the page's language (the scripts carry no text of their own)."""
    probes = plural_probes(str(get_locale()))
    return {
        "online": _("With internet"),
        "offline": _("Without internet"),
        "offline_hint": _("No internet right now. Saved pages and forms still work."),
        "waiting": {
            n: ngettext("%(count)s item is waiting to be sent.", "%(count)s items are waiting to be sent.", k, count="{n}")
            for n, k in probes
        },
        "attention": _("Please look at the list below."),
        "send_now": _("Send now"),
        "sending": _("Sending …"),
        "saved": _("Saved on your phone – it will be sent when you have internet again."),
        "already_saved": _("This is already saved on your phone and will be sent when you have internet again."),
        "store_failed": _("This could not be saved on your phone (%(reason)s).", reason="{reason}"),
        "store_failed_online": _("We will try to send it right away instead."),
        "store_failed_offline": _("Please keep this page open and send the form again when you have internet."),
        "no_store": _("This phone cannot keep forms while it has no internet (%(reason)s).", reason="{reason}"),
        "reason_quota": _("the phone's storage is full"),
        "reason_broken": _("the storage of the internet program does not work"),
        "outbox_title": _("Forms from this phone"),
        "state_waiting": _("Not sent yet"),
        "state_done": _("Sent"),
        "state_confirmed": _("Booked"),
        "state_waiting_list": _("On the waiting list"),
        "state_attention": _("Not accepted"),
        "retry_network": _("Not sent yet: no connection. We will try again."),
        "retry_server": _("Not sent yet: something went wrong on our side. We will try again."),
        "retry_busy": _("Not sent yet: too many tries. We will try again in a few minutes."),
        "show_ticket": _("Show your ticket"),
        "show_waiting": _("Show your place on the waiting list"),
        "open_form": _("Open the form again"),
        "alternatives": _("Other workshops you can book:"),
        "seats_free": {
            n: ngettext("%(count)s seat free", "%(count)s seats free", k, count="{n}") for n, k in probes
        },
        "dismiss": _("Remove from this list"),
        "saved_when": _("saved %(time)s", time="{time}"),
        # Patterns and names to write dates and times as the server does (busapp/core/i18n.py, weekday_at).
        "dates": script_dates(get_locale()),
        "saved_at": _("Saved copy from %(time)s. It may be out of date.", time="{time}"),
        "kind_booking": _("Booking"),
        "kind_feedback": _("Feedback"),
        "kind_mitreden": _("Have your say"),
        "kind_station": _("Mitmach-Station"),
        "kind_paper": _("Paper card"),
        "follow_idea": _("Follow your idea"),
        "created": _("Filled in %(time)s", time="{time}"),
        "error_400": _("The form had expired. Please open it again and send it once more."),
        "error_404": _("The workshop or stop no longer exists."),
        "error_409": _("This could not be booked."),
        "error_413": _("What you wrote is too long. Please open the form again and shorten it."),
        "error_422": _("Some entries were not accepted. Please open the form again."),
        "error_other": _("We could not accept it (error %(code)s).", code="{code}"),
        "no_saved_pages": _("No pages are saved on this phone yet."),
        "no_tickets": _("No tickets are kept on this phone yet. Tickets you book or open here are listed."),
        "ticket_waiting": _("Booking not sent yet – it will be sent when you have internet again"),
        "tickets_removed": _("Your tickets were removed from this device."),
    }


def _javascript(body: str):
    response = make_response(body)
    response.mimetype = "text/javascript"
    # The browser checks for a new worker on every visit; a conditional request keeps that check to a few bytes.
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/sw.js")
def worker():
    """The service worker, from the root so that it controls every page."""
    if current_app.config["SW_KILL_SWITCH"]:
        return _javascript(render_template("pwa/sw_retire.js", prefix=CACHE_PREFIX))
    config = {
        "version": release(),
        "prefix": CACHE_PREFIX,
        "pagesCache": PAGES_CACHE,
        "precache": [static_url(f) for f in precached_files()] + townprofile.asset_urls(),
        "staffPrecache": [static_url(f) for f in staff_precached_files()],
        "offline": {tag: f"/offline?lang={tag}" for tag in current_app.config["LANGUAGES"]},
        "defaultLang": current_app.config["BABEL_DEFAULT_LOCALE"],
        "pages": list(OFFLINE_PAGES),
        "staffPages": list(STAFF_PAGES),
        "staffCachePrefix": STAFF_CACHE_PREFIX,
        "staffCopyHeader": STAFF_COPY_HEADER,
        "staffArea": url_for("checkin.index"),
        "signPaths": [url_for("auth.signin"), url_for("auth.signout")],
        "timeout": NAVIGATION_TIMEOUT_MS,
        "outboxScript": static_url("js/outbox.js"),
        "staticPrefixes": [url_for("static", filename=""), url_for("town.style").rsplit("/", 1)[0] + "/"],
        "ticketPrefix": paths()["ticket"],
    }
    return _javascript(render_template("pwa/sw.js", config=config))


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest that makes the app installable, in the visitor's language."""
    locale = get_locale()
    data = {
        "id": "/",
        "name": current_app.config["SITE_NAME"],
        "short_name": _("Digital bus"),
        "description": _("When and where the digital workshop bus comes to your district, "
                         "and free workshops to book."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "lang": html_lang(language_tag(locale)),
        "dir": direction_of(locale),
        "theme_color": theme_color(),
        "background_color": BACKGROUND_COLOR,
        "categories": ["education", "government"],
        "icons": [
            {"src": static_url(f), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
            for f, size, purpose in ICONS
        ] + [{"src": static_url("icons/bus.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
        "screenshots": [
            {
                "src": static_url(f), "sizes": f"{w}x{h}", "type": "image/png", "form_factor": factor,
                "label": _("The tour schedule on a phone") if factor == "narrow"
                else _("The tour schedule on a large screen"),
            }
            for f, w, h, factor in SCREENSHOTS
        ],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    """The page shown when a page is not available offline."""
    return render_template("pwa/offline.html", pages_cache=PAGES_CACHE)
