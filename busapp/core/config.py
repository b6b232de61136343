"""Settings read from the environment, with safe defaults.

APP_ENV chooses the profile: "production" (the default, strict), "development" (what `make run` uses) or "testing".
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _private_file(path: Path, make) -> str:
    """The key kept in this file, readable by its owner only; made by make() the first time. Created with mode
    0600 (never world-readable, not even for a moment); a file left readable by others is narrowed."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _dev_secret(instance_path: Path) -> str:
    """A random key kept in instance/ so development sessions survive restarts."""
    return _private_file(instance_path / "dev-secret-key", lambda: secrets.token_urlsafe(48))


# Languages the app offers when LANGUAGES is not set, as BCP 47 tags in the order the picker lists them.
# "de-x-ls" is Leichte Sprache (Easy German): its catalogue is "de@ls" and it falls back to German.
DEFAULT_LANGUAGES = "de,en,tr,uk,ar,pl,ru,fa,de-x-ls"
# Names of private-use tags, which Babel cannot name; every other language is named by Babel in itself.
PRIVATE_LANGUAGE_NAMES = {"de-x-ls": "Leichte Sprache"}


def languages(value: str, default_locale: str) -> dict[str, str]:
    """The LANGUAGES setting ("de,en,tr,...") as {tag: name in that language}, in the order given."""
    from babel import Locale, UnknownLocaleError

    from .i18n import catalogue_id

    tags = [t.strip() for t in value.split(",") if t.strip()]
    if default_locale not in tags:
        raise ConfigError(f"LANGUAGES must include the default language {default_locale!r}, got {value!r}")
    names = {}
    for tag in tags:
        try:
            locale = Locale.parse(catalogue_id(tag))
        except (ValueError, UnknownLocaleError) as exc:
            raise ConfigError(f"LANGUAGES: {tag!r} is not a language tag Babel knows ({exc})") from exc
        name = PRIVATE_LANGUAGE_NAMES.get(tag) or locale.get_display_name(locale) or tag
        names[tag] = name[:1].upper() + name[1:]
    return names
def _ticket_key(env: str, instance_path: Path, secret: str) -> str:
    """The Ed25519 seed (base64) that signs tickets: from the environment, else made for development or tests."""
    import base64
    import hashlib

    value = os.environ.get("TICKET_SIGNING_KEY", "").strip()
    if value:
        return value
    if env == "production":
        raise ConfigError(
            "TICKET_SIGNING_KEY is not set. In production the private key that signs tickets must come from the "
            "environment. Make one with: python3 -c 'import base64, os; "
            "print(base64.b64encode(os.urandom(32)).decode())' and keep it secret. Check-in tablets only ever "
            "get its public key."
        )
    if env == "testing":
        return base64.b64encode(hashlib.sha256(b"ticket key for tests " + secret.encode()).digest()).decode()
    return _private_file(instance_path / "ticket-signing-key",
                         lambda: base64.b64encode(secrets.token_bytes(32)).decode())


# What `make run` serves; the development profile builds its links on it unless PUBLIC_BASE_URL says otherwise.
DEV_BASE_URL = "http://127.0.0.1:5000"
# The test client's address.
TEST_BASE_URL = "http://localhost"


def _public_base_url(env: str) -> str:
    """The address people reach the app at; every absolute link is built on it, never on a request's Host."""
    if env == "testing":
        return TEST_BASE_URL
    value = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if value or env != "production":
        return value or DEV_BASE_URL
    raise ConfigError(
        "PUBLIC_BASE_URL is not set. In production every link in mails, calendars and QR codes is built on it, "
        "for example: export PUBLIC_BASE_URL=https://digitalbus.example.org"
    )


def _trusted_hosts(env: str, base_url: str) -> list[str] | None:
    """Host names a request may name; in production the public address's host unless TRUSTED_HOSTS lists more."""
    listed = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    if listed:
        return listed
    if env == "production":
        return [urlsplit(base_url).hostname or ""]
    return None


def database_url(url: str) -> str:
    """Name the psycopg 3 driver in plain postgres:// URLs, as hosting platforms hand them out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the configuration mapping for create_app()."""
    overrides = overrides or {}
    env = overrides.get("APP_ENV") or os.environ.get("APP_ENV", "production")
    if env not in {"production", "development", "testing"}:
        raise ConfigError(f"APP_ENV must be production, development or testing, got {env!r}")
    ipath = Path(instance_path)
    production = env == "production"

    secret = os.environ.get("SECRET_KEY", "").strip()
    if not secret:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production it must come from the environment, for example: "
                "export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')\""
            )
        secret = _dev_secret(ipath) if env == "development" else "testing-secret-key-not-for-production"
    elif production and len(secret) < 32:
        raise ConfigError("SECRET_KEY is too short for production: use at least 32 random characters")

    # The town profile (busapp/core/townprofile.py): everything that is one town's. Environment settings of the same
    # meaning below win over its values.
    from . import townprofile

    town_ref = overrides.get("TOWN") or os.environ.get("TOWN", "").strip() or townprofile.DEFAULT_TOWN
    try:
        town = townprofile.load(town_ref)
    except townprofile.ProfileError as exc:
        raise ConfigError(str(exc)) from None
    if production and town.fictional:
        raise ConfigError(f"TOWN: {town.folder} is an example profile, not a real town (it says fictional = true). "
                          "Start your town's own with: flask town init NAME")

    def _setting(name: str, default: str) -> str:
        return os.environ.get(name, "").strip() or default

    # The town's time zone: every "today", day list and wall-clock time (busapp/domain/town.py).
    timezone_name = _setting("TIMEZONE", town.time_zone)
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE must be an IANA time zone such as Europe/Berlin, got {timezone_name!r}") from None

    cfg = {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url(
            os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{ipath / 'busapp.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Residents' sessions only carry the CSRF token and language; they live long so that a booking
        # queued offline on a phone still passes the CSRF check when it is sent hours later.
        "PERMANENT_SESSION_LIFETIME": timedelta(days=_int("SESSION_DAYS", 30)),
        # The cookie is sent again only when the session changes. Sent with every answer, an answer to a request that
        # left before a sign-in (the service worker fetching its files) would put the old cookie back: signed out.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        # Staff and coordinator sign-ins expire on their own, independent of the session cookie.
        "AUTH_MAX_AGE": timedelta(hours=_int("AUTH_HOURS", 12)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        # Coordinators, who can export everyone's data, are signed out after this many idle minutes, and must give a
        # code from an authenticator app (RFC 6238 TOTP) after their password when COORDINATOR_TOTP is on.
        "COORDINATOR_IDLE_MINUTES": _int("COORDINATOR_IDLE_MINUTES", 30),
        "COORDINATOR_TOTP": _bool("COORDINATOR_TOTP", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 64 * 1024),
        "MAX_FORM_MEMORY_SIZE": _int("MAX_CONTENT_LENGTH", 64 * 1024),
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": timezone_name,
        # Comma-separated BCP 47 tags: which languages the picker offers (each needs its catalogue in translations/).
        "LANGUAGES": languages(os.environ.get("LANGUAGES", "") or DEFAULT_LANGUAGES, "de"),
        "RTL_LANGUAGES": {"ar", "fa", "he", "ur", "ku"},
        "TIMEZONE": timezone_name,
        "TOWN": town_ref,
        "TOWN_PROFILE": town,
        "SITE_NAME": _setting("SITE_NAME", town.site_name),
        "PUBLIC_BASE_URL": _public_base_url(env),
        # The bus team's telephone, shown on every stop page and ticket; outside production the profile's example.
        "TEAM_PHONE": _setting("TEAM_PHONE", town.phone or ("" if production else town.demo_phone)),
        # The town after the postcode in addresses of places: the profile's German name.
        "CITY_NAME": _setting("CITY_NAME", town.name.pick("de")),
        # Booking rules
        "BOOKING_CLOSES_MINUTES": _int("BOOKING_CLOSES_MINUTES", 0),
        "PURGE_AFTER_DAYS": _int("PURGE_AFTER_DAYS", 30),
        # Backups (busapp/ops/backup.py): where `flask backup create` writes them, and how many days they are kept; the
        # purge deletes personal data that many days earlier, so that no backup holds it past PURGE_AFTER_DAYS.
        "BACKUP_DIR": os.environ.get("BACKUP_DIR", "").strip(),
        "BACKUP_KEEP_DAYS": _int("BACKUP_KEEP_DAYS", 0),
        # Monitoring (busapp/ops/monitoring.py): who may read /metrics (these address ranges, or a request with
        # "Authorization: Bearer METRICS_TOKEN"), and "json" for one JSON log line per request instead of text.
        "METRICS_NETWORKS": os.environ.get("METRICS_NETWORKS", "127.0.0.0/8,::1/128"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", "").strip(),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text").strip().lower() or "text",
        # Mail is optional: without MAIL_SERVER nothing is sent and nothing fails.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "digitalbus@localhost"),
        # The outbox worker (busapp/mail/service.py): tries per message, first wait before a retry (doubling),
        # how long a claim holds, how often the worker looks, how long sent messages are kept.
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 8),
        "MAIL_RETRY_SECONDS": _int("MAIL_RETRY_SECONDS", 60),
        "MAIL_LEASE_SECONDS": _int("MAIL_LEASE_SECONDS", 300),
        "MAIL_POLL_SECONDS": _int("MAIL_POLL_SECONDS", 5),
        "MAIL_KEEP_DAYS": _int("MAIL_KEEP_DAYS", 7),
        # Rate limits: "count/seconds", counted in the database so every app process shares them.
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Failed sign-ins (only failures count) per account and client address together, and per client address
        # for all accounts; the latter is higher, since one office can put several colleagues behind one address.
        # Failures for one account from anywhere also make the clients that failed wait longer (busapp/accounts/auth.py).
        "RATELIMIT_SIGNIN": os.environ.get("RATELIMIT_SIGNIN", "10/900"),
        "RATELIMIT_SIGNIN_CLIENT": os.environ.get("RATELIMIT_SIGNIN_CLIENT", "30/900"),
        # Bookings and feedback per device and address together; per address a ceiling high enough for everyone
        # on the bus behind its router, and a higher one for TRUSTED_NETWORKS (the bus router's own range).
        "RATELIMIT_BOOKING": os.environ.get("RATELIMIT_BOOKING", "30/600"),
        "RATELIMIT_FEEDBACK": os.environ.get("RATELIMIT_FEEDBACK", "20/600"),
        # Tries of "find my booking" (booking code and name) per device and address, and per address whatever
        # the device (a new cookie is a new device, so without it one client could guess on and on).
        "RATELIMIT_FIND": os.environ.get("RATELIMIT_FIND", "10/600"),
        "RATELIMIT_FIND_ADDRESS": os.environ.get("RATELIMIT_FIND_ADDRESS", "30/600"),
        "RATELIMIT_BOOKING_ADDRESS": os.environ.get("RATELIMIT_BOOKING_ADDRESS", "150/600"),
        "RATELIMIT_FEEDBACK_ADDRESS": os.environ.get("RATELIMIT_FEEDBACK_ADDRESS", "150/600"),
        "RATELIMIT_TRUSTED": os.environ.get("RATELIMIT_TRUSTED", "1000/600"),
        # Seats (not requests) booked per address (IPv6: per /64) per window: a household books a few workshops,
        # a community centre's class more; the bus's own network has its own, higher, number.
        "RATELIMIT_SEATS_ADDRESS": os.environ.get("RATELIMIT_SEATS_ADDRESS", "40/3600"),
        "RATELIMIT_SEATS_TRUSTED": os.environ.get("RATELIMIT_SEATS_TRUSTED", "400/3600"),
        # The share of a workshop's seats (percent) that bookings from one address may hold, never less than one
        # full party; not for the trusted networks.
        "BOOKING_ADDRESS_SHARE": _int("BOOKING_ADDRESS_SHARE", 50),
        # Coordinators are shown this many bookings (or feedback answers) from one address within an hour as a burst.
        "BURST_SIZE": _int("BURST_SIZE", 4),
        "TRUSTED_NETWORKS": os.environ.get("TRUSTED_NETWORKS", ""),
        # Trust X-Forwarded-* from this many proxies (0 when the app faces clients directly).
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        "DEMO_ACCOUNTS": env != "production",
        # Feedback is taken from a stop's start until this many days after it; one device may answer this often
        # per workshop (or stop) and day.
        "FEEDBACK_OPEN_DAYS": _int("FEEDBACK_OPEN_DAYS", 14),
        "FEEDBACK_DEVICE_LIMIT": _int("FEEDBACK_DEVICE_LIMIT", 3),
        # ... and one address (IPv6: its /64) this often, whatever its devices (a new cookie is a new device); not
        # for TRUSTED_NETWORKS. Until the bus's router is named there, everyone on the bus answers through one
        # address that is not told apart from others: then the default lets a full bus through (40), else a
        # household (4).
        "FEEDBACK_ADDRESS_LIMIT": _int("FEEDBACK_ADDRESS_LIMIT",
                                       4 if os.environ.get("TRUSTED_NETWORKS", "").strip() else 40),
        # The Mitmach-Station clears its form after this many seconds without a touch.
        "MITREDEN_STATION_IDLE_SECONDS": _int("MITREDEN_STATION_IDLE_SECONDS", 60),
        # Mitreden keeps ideas never published and the devices' marks this many days after a consultation's end.
        "MITREDEN_KEEP_DAYS": _int("MITREDEN_KEEP_DAYS", 180),
        # The service worker: SW_KILL_SWITCH=1 serves a worker that clears its caches and unregisters itself;
        # SW_RELEASE forces a new worker version without a change of files.
        "SW_KILL_SWITCH": _bool("SW_KILL_SWITCH", False),
        "SW_RELEASE": os.environ.get("SW_RELEASE", ""),
        # The accessibility statement's contact and complaints body (busapp/pages/), from the profile.
        "ACCESSIBILITY_CONTACT": _setting("ACCESSIBILITY_CONTACT", town.accessibility_email),
        "ACCESSIBILITY_PHONE": _setting("ACCESSIBILITY_PHONE", town.accessibility_phone),
        "ACCESSIBILITY_STATEMENT_DATE": os.environ.get("ACCESSIBILITY_STATEMENT_DATE", ""),
        "ACCESSIBILITY_ENFORCEMENT_NAME": _setting("ACCESSIBILITY_ENFORCEMENT_NAME", town.enforcement_name),
        "ACCESSIBILITY_ENFORCEMENT_URL": _setting("ACCESSIBILITY_ENFORCEMENT_URL", town.enforcement_url),
        # Anonymous public pages are kept this many seconds per process (busapp/core/pagecache.py); 0 switches it off.
        "PAGE_CACHE_SECONDS": _int("PAGE_CACHE_SECONDS", 5),
        # Tickets: the private Ed25519 key that signs them, and public keys of earlier keys still accepted.
        "TICKET_SIGNING_KEY": _ticket_key(env, ipath, secret),
        "TICKET_PUBLIC_KEYS": [k for k in os.environ.get("TICKET_PUBLIC_KEYS", "").replace(",", " ").split() if k],
        # Check-in: seats each tablet may give to walk-ins while offline, per workshop, taken when booking closes.
        # (An approved tablet's sync credential has no lifetime: it lasts until a coordinator revokes the tablet.)
        "WALKIN_SHARE": _int("WALKIN_SHARE", 2),
        # Check-in tablets a coordinator may approve per bus; a lost one is revoked to make room for another.
        "TABLETS_PER_BUS": _int("TABLETS_PER_BUS", 3),
        # How much of the tour one page or feed holds (busapp/schedule): a district page shows this many days and
        # pages on from there, never more than SCHEDULE_PAGE_SIZE stops at once (24: two weeks of a bus that makes
        # two stops a weekday fit on the home page); calendar feeds hold the stops of the
        # last FEED_PAST_DAYS and the next FEED_FUTURE_DAYS, at most FEED_MAX_EVENTS of them (the soonest).
        "SCHEDULE_WINDOW_DAYS": _int("SCHEDULE_WINDOW_DAYS", 28),
        "SCHEDULE_PAGE_SIZE": _int("SCHEDULE_PAGE_SIZE", 24),
        "FEED_PAST_DAYS": _int("FEED_PAST_DAYS", 30),
        "FEED_FUTURE_DAYS": _int("FEED_FUTURE_DAYS", 365),
        "FEED_MAX_EVENTS": _int("FEED_MAX_EVENTS", 1000),
        # Open data (busapp/opendata): the licence of the data (a DCAT-AP.de licence URI), who publishes it, and
        # how long a process answers If-None-Match from memory without a query (0 switches that off).
        "OPENDATA_LICENSE": os.environ.get("OPENDATA_LICENSE", "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"),
        "OPENDATA_PUBLISHER": _setting("OPENDATA_PUBLISHER", town.publisher),
        "OPENDATA_CONTACT_EMAIL": os.environ.get("OPENDATA_CONTACT_EMAIL", "")
        or os.environ.get("MAIL_FROM", "digitalbus@localhost"),
        "OPENDATA_MUNICIPALITY_KEY": _setting("OPENDATA_MUNICIPALITY_KEY", town.municipality_key),
        # The region of every address (schema.org addressRegion), and who delivers the catalogue to GovData
        # (dcatde:contributorID, an IRI from GovData's list).
        "OPENDATA_REGION": _setting("OPENDATA_REGION", town.state.pick("de")),
        "OPENDATA_CONTRIBUTOR_ID": _setting("OPENDATA_CONTRIBUTOR_ID", town.contributor_id),
        "OPENDATA_FRESH_SECONDS": _int("OPENDATA_FRESH_SECONDS", 5),
    }
    if env == "testing":
        cfg["TESTING"] = True
        cfg["PAGE_CACHE_SECONDS"] = 0  # tests see each change at once; the cache's own tests switch it on
        cfg["OPENDATA_FRESH_SECONDS"] = 0
        cfg["SQLALCHEMY_DATABASE_URI"] = database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
    cfg.update(overrides)
    if "TRUSTED_HOSTS" not in overrides:
        cfg["TRUSTED_HOSTS"] = _trusted_hosts(env, cfg["PUBLIC_BASE_URL"])
    if "SESSION_COOKIE_NAME" not in overrides and env == "production" and cfg["SESSION_COOKIE_SECURE"]:
        # The browser takes a __Host- cookie only over HTTPS, for the whole site and from this host alone: no
        # sibling subdomain can set or overwrite the session (cookie tossing).
        cfg["SESSION_COOKIE_NAME"] = "__Host-session"
    _check(cfg)
    return cfg


RATE_LIMIT_KEYS = ("RATELIMIT_SIGNIN", "RATELIMIT_SIGNIN_CLIENT", "RATELIMIT_BOOKING", "RATELIMIT_FEEDBACK",
                   "RATELIMIT_BOOKING_ADDRESS", "RATELIMIT_FEEDBACK_ADDRESS", "RATELIMIT_TRUSTED", "RATELIMIT_FIND",
                   "RATELIMIT_FIND_ADDRESS", "RATELIMIT_SEATS_ADDRESS", "RATELIMIT_SEATS_TRUSTED")


def _check(cfg: dict) -> None:
    """Refuse to start with settings that would only fail later, in the middle of a request."""
    from .ratelimit import parse, parse_networks

    for key in RATE_LIMIT_KEYS:
        try:
            parse(cfg[key])
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from exc
    if isinstance(cfg["TRUSTED_NETWORKS"], str):
        try:
            cfg["TRUSTED_NETWORKS"] = parse_networks(cfg["TRUSTED_NETWORKS"])
        except ValueError as exc:
            raise ConfigError(f"TRUSTED_NETWORKS must list address ranges like 10.8.0.0/24: {exc}") from exc
    if isinstance(cfg["METRICS_NETWORKS"], str):
        try:
            cfg["METRICS_NETWORKS"] = parse_networks(cfg["METRICS_NETWORKS"])
        except ValueError as exc:
            raise ConfigError(f"METRICS_NETWORKS must list address ranges like 10.0.0.0/24: {exc}") from exc
    if cfg["METRICS_TOKEN"] and len(cfg["METRICS_TOKEN"]) < 32:
        raise ConfigError("METRICS_TOKEN is too short: use at least 32 random characters, or none")
    if cfg["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, got {cfg['LOG_FORMAT']!r}")
    from .tickets import private_key_from_text, public_key_from_text

    try:
        private_key_from_text(cfg["TICKET_SIGNING_KEY"])
    except ValueError as exc:
        raise ConfigError(f"TICKET_SIGNING_KEY is not a usable Ed25519 key: {exc}") from exc
    for text in cfg["TICKET_PUBLIC_KEYS"]:
        try:
            public_key_from_text(text)
        except ValueError as exc:
            raise ConfigError(f"TICKET_PUBLIC_KEYS: {text!r} is not an Ed25519 public key: {exc}") from exc
    if cfg["WALKIN_SHARE"] < 0:
        raise ConfigError("WALKIN_SHARE must be 0 or more")
    if not 1 <= cfg["TABLETS_PER_BUS"] <= 50:
        raise ConfigError("TABLETS_PER_BUS must be 1 to 50: check-in tablets a coordinator may approve per bus")
    if not 1 <= cfg["BOOKING_ADDRESS_SHARE"] <= 100:
        raise ConfigError("BOOKING_ADDRESS_SHARE is a percentage of a workshop's seats: 1 to 100 (100 switches it off)")
    if cfg["COORDINATOR_IDLE_MINUTES"] < 1:
        raise ConfigError("COORDINATOR_IDLE_MINUTES must be 1 or more: coordinators are signed out after so many "
                          "minutes without a request")
    if cfg["FEEDBACK_ADDRESS_LIMIT"] < 1:
        raise ConfigError("FEEDBACK_ADDRESS_LIMIT must be 1 or more: answers one address may give per workshop and day")
    if cfg["BURST_SIZE"] < 2:
        raise ConfigError("BURST_SIZE must be 2 or more: the number of bookings from one address within an hour "
                          "that coordinators are shown as a burst")
    base = urlsplit(cfg["PUBLIC_BASE_URL"] or "")
    if base.scheme not in ("http", "https") or not base.hostname or base.path or base.query or base.fragment:
        raise ConfigError(
            f"PUBLIC_BASE_URL must be a scheme and host only, like https://digitalbus.example.org, "
            f"got {cfg['PUBLIC_BASE_URL']!r}"
        )
    if cfg["MITREDEN_KEEP_DAYS"] < 0:
        raise ConfigError("MITREDEN_KEEP_DAYS must be 0 or more: it counts days after a consultation's end.")
    if cfg["PURGE_AFTER_DAYS"] < 0:
        raise ConfigError("PURGE_AFTER_DAYS must be 0 or more: it counts days after a workshop, so a negative "
                          "value would delete the data of bookings still to come")
    if not 0 <= cfg["BACKUP_KEEP_DAYS"] <= cfg["PURGE_AFTER_DAYS"]:
        raise ConfigError(f"BACKUP_KEEP_DAYS must be between 0 and PURGE_AFTER_DAYS ({cfg['PURGE_AFTER_DAYS']}): "
                          "personal data is purged that many days early so that no backup keeps it longer")
    if cfg["PAGE_CACHE_SECONDS"] < 0:
        raise ConfigError("PAGE_CACHE_SECONDS must be 0 (off) or more")
    for key in ("SCHEDULE_WINDOW_DAYS", "SCHEDULE_PAGE_SIZE", "FEED_FUTURE_DAYS", "FEED_MAX_EVENTS"):
        if not 1 <= cfg[key] <= 5000:
            raise ConfigError(f"{key} must be between 1 and 5000")
    if not 0 <= cfg["FEED_PAST_DAYS"] <= 5000:
        raise ConfigError("FEED_PAST_DAYS must be between 0 and 5000")
    if cfg["OPENDATA_FRESH_SECONDS"] < 0:
        raise ConfigError("OPENDATA_FRESH_SECONDS must be 0 (off) or more")
    if not cfg["OPENDATA_LICENSE"].startswith(("http://", "https://")):
        raise ConfigError("OPENDATA_LICENSE must be a licence URI, e.g. http://dcat-ap.de/def/licenses/dl-zero-de/2.0")
    if cfg["MAIL_LEASE_SECONDS"] < 60:
        raise ConfigError("MAIL_LEASE_SECONDS must be at least 60: a claim must outlast a slow mail server")
    if cfg["MAIL_MAX_ATTEMPTS"] < 1 or cfg["MAIL_RETRY_SECONDS"] < 1 or cfg["MAIL_POLL_SECONDS"] < 1:
        raise ConfigError("MAIL_MAX_ATTEMPTS, MAIL_RETRY_SECONDS and MAIL_POLL_SECONDS must be at least 1")
    if cfg["AUTH_MAX_AGE"] <= timedelta(0):
        raise ConfigError("AUTH_HOURS must be at least 1")
    for key in ("MAX_CONTENT_LENGTH", "MAX_FORM_MEMORY_SIZE"):
        if not cfg[key] or cfg[key] < 1024:
            raise ConfigError(f"{key} must be at least 1024 bytes")

