"""Security headers and cookies on every route, markup that fits the CSP, no other host, and the error pages."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from busapp import create_app
from busapp.core import security
from busapp.accounts.auth import role_required
from busapp.core.extensions import db
from busapp.models import Role
from busapp.core.security import allow_camera
from tests.conftest import _driver, csrf_token
from tests.test_access import (
    ROUTE_APP, build_path, build_world, find_rule, make_account, rule_id, sign_in,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
STATIC = sorted(p for p in (ROOT / "static").rglob("*")
                if p.is_file() and "vendor" not in p.relative_to(ROOT / "static").parts)

GET_ROUTES = [
    pytest.param(rule.rule, rule.endpoint, id=rule_id(rule))
    for rule in sorted(ROUTE_APP.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    if "GET" in rule.methods
]


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def check_headers(response, camera: bool, https: bool = False) -> None:
    policy = csp(response)
    assert policy, "no Content-Security-Policy"
    for directive in ("script-src", "style-src", "default-src"):
        sources = policy.get(directive, policy.get("default-src", []))
        assert sources, f"{directive} missing"
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (directive, sources)
        assert "*" not in sources and not any(s.startswith(("http:", "https:", "data:")) for s in sources
                                               if directive != "default-src"), (directive, sources)
    assert policy.get("frame-ancestors") == ["'none'"]
    assert policy.get("object-src") == ["'none'"]
    assert response.headers.get("Referrer-Policy") in ("no-referrer", "same-origin", "strict-origin",
                                                       "strict-origin-when-cross-origin")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    permissions = response.headers.get("Permissions-Policy", "")
    assert ("camera=(self)" if camera else "camera=()") in permissions, permissions
    assert "geolocation=()" in permissions and "microphone=()" in permissions
    if https:
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts)[1]) >= 31536000
    else:
        assert "Strict-Transport-Security" not in response.headers


DATA_BLOCKS = ("application/json", "application/ld+json")


class InlineFinder(HTMLParser):
    """Collects what the CSP would block: inline scripts, <style> blocks, style= and on*= attributes."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        if tag == "script":
            kind = (dict(attrs).get("type") or "").lower()
            if kind in DATA_BLOCKS:
                return  # a data block (JSON read by a script file): never run, so the CSP has no say
            if "src" not in names:
                self.problems.append("<script> without src")
            self._in_script = True
        if tag == "style":
            self.problems.append("<style> block")
        if "style" in names:
            self.problems.append(f"style= on <{tag}>")
        for name in names:
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"{name}= on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script body {data.strip()[:40]!r}")


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


@pytest.mark.parametrize("rule_text, endpoint", GET_ROUTES)
@pytest.mark.parametrize("who", ["anonymous", "coordinator"])
def test_headers_on_every_get_route(module_app, rule_text, endpoint, who):
    app = module_app
    rule = find_rule(app, rule_text, endpoint)
    world = build_world()
    user = make_account(who)
    client = app.test_client()
    sign_in(client, user)
    path = build_path(app, rule, "GET", world, user)
    view = app.view_functions[endpoint]
    with client.get(path) as response:
        assert response.status_code != 500, path
        check_headers(response, camera=bool(getattr(view, "allows_camera", False)))
        if response.mimetype == "text/html":
            assert inline_problems(response.get_data(as_text=True)) == [], path
    if getattr(view, "required_roles", None) and who == "coordinator":
        with client.get(path) as response:
            assert "no-store" in response.headers.get("Cache-Control", "") or response.status_code >= 300


@pytest.mark.parametrize("rule_text, endpoint", GET_ROUTES)
def test_hsts_over_https(module_app, rule_text, endpoint):
    app = module_app
    rule = find_rule(app, rule_text, endpoint)
    path = build_path(app, rule, "GET", build_world())
    view = app.view_functions[endpoint]
    with app.test_client().get(path, base_url="https://localhost") as response:
        check_headers(response, camera=bool(getattr(view, "allows_camera", False)), https=True)


def test_headers_on_error_pages(client):
    with client.get("/no/such/page") as response:
        assert response.status_code == 404
        check_headers(response, camera=False)


def test_hsts_follows_the_proxy_only_when_trusted(_schema, database_url):
    cfg = {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)}
    headers = {"X-Forwarded-Proto": "https"}
    answers = []
    for app in (create_app(cfg), create_app({**cfg, "PROXY_COUNT": 1})):
        answers.append(app.test_client().get("/healthz", headers=headers))
        with app.app_context():
            db.engine.dispose()
    direct, proxied = answers
    assert "Strict-Transport-Security" not in direct.headers
    assert "Strict-Transport-Security" in proxied.headers


# --- the camera only where a view asks for it ------------------------------------------------------------------

def test_camera_only_on_views_that_allow_it(app):
    @allow_camera
    def scan():
        """Scans tickets."""
        return "scan"

    @role_required(Role.STAFF)
    @allow_camera
    def staff_scan():
        """Scans tickets, for staff."""
        return "staff scan"

    app.add_url_rule("/test/scan", "test_scan", scan)
    app.add_url_rule("/test/staff-scan", "test_staff_scan", staff_scan)
    client = app.test_client()
    assert "camera=(self)" in client.get("/test/scan").headers["Permissions-Policy"]
    # Even the redirect to sign-in comes from the scanning view, and says so.
    assert "camera=(self)" in client.get("/test/staff-scan").headers["Permissions-Policy"]
    assert "camera=()" in client.get("/signin").headers["Permissions-Policy"]


def test_the_ticket_scanner_may_use_the_camera_and_other_staff_pages_may_not(client, login, make_workshop):
    """The app's real camera view: the staff scanner page asks for the camera, the staff page beside it does not."""
    scanning = [e for e, v in ROUTE_APP.view_functions.items() if getattr(v, "allows_camera", False)]
    assert scanning == ["checkin.scan"]
    workshop = make_workshop()
    login("staff")
    scanner = client.get(f"/staff/workshops/{workshop.id}/scan")
    assert scanner.status_code == 200 and "camera=(self)" in scanner.headers["Permissions-Policy"]
    assert "camera=()" in client.get("/barrierefreiheit").headers["Permissions-Policy"]


# --- cookies ---------------------------------------------------------------------------------------------------

def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(("session=", "__Host-session="))]
    assert cookies, "no session cookie was set"
    return cookies[0]


def test_session_cookie_flags_outside_production(client):
    cookie = _session_cookie(client.get("/signin")).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie.replace("samesite", "")


def test_session_cookie_is_secure_in_production(monkeypatch, _schema, database_url):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://localhost")
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    assert app.config["SECRET_KEY"] == "s" * 48
    with app.app_context():
        cookie = _session_cookie(app.test_client().get("/signin", base_url="https://localhost")).lower()
        db.engine.dispose()
    assert "httponly" in cookie and "samesite=lax" in cookie and "; secure" in cookie


def test_signed_in_pages_are_not_cached(app, make_user):
    @role_required(Role.STAFF)
    def staff_page():
        """A staff page."""
        return "staff"

    app.add_url_rule("/test/staff", "test_staff", staff_page)
    client = app.test_client()
    sign_in(client, make_account("staff"))
    assert client.get("/test/staff").headers["Cache-Control"] == "no-store"
    assert "no-store" in client.get("/signin").headers["Cache-Control"]


# --- the markup itself fits the CSP ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_scripts_styles_or_handlers(path):
    text = path.read_text(encoding="utf-8")
    # Jinja comments and expressions are not markup; blank them so the parser sees the HTML around them.
    text = re.sub(r"{#.*?#}", "", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}", "x", text, flags=re.S)
    assert inline_problems(text) == []
    assert not re.search(r"\sstyle\s*=", text, re.I)
    assert not re.search(r"\son[a-z]+\s*=", text, re.I)
    assert not re.search(r"javascript:", text, re.I)


def test_the_inline_finder_finds_what_it_should():
    html = ('<script>alert(1)</script><style>p{}</style><p style="x" onclick="y"></p>'
            '<div hx-on:click="z"></div><script src="/a.js"></script>'
            '<script type="application/json">{"a": 1}</script>')
    assert len(inline_problems(html)) == 6  # the script counts twice: no src, and a body


# References that make the browser fetch something: attributes that load, CSS url() and @import, JS strings.
LOADING = re.compile(
    r"""<(?P<tag>[a-z][a-z0-9-]*)\b[^>]*?\s(?P<attr>src|href|srcset|action|formaction|poster|data|content|"""
    r"""manifest|background)\s*=\s*["']?\s*(?P<url>(?:https?:)?//[^"'\s>]+)""", re.I | re.S)
CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"')\s]+)""", re.I)
JS_URL = re.compile(r"""["'`]((?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^"'`]*)["'`]""", re.I)


def foreign_references(text: str, suffix: str) -> list[str]:
    found = []
    if suffix in (".html", ".svg", ".xml", ".webmanifest", ".json"):
        for m in LOADING.finditer(text):
            tag, attr = m["tag"].lower(), m["attr"].lower()
            if tag == "a" and attr == "href":
                continue  # a plain outbound link loads nothing by itself
            if tag == "meta" and attr == "content":
                continue
            found.append(m.group(0))
        if suffix in (".webmanifest", ".json"):
            found += [u for u in JS_URL.findall(text)]
    if suffix in (".html", ".css", ".svg"):
        found += CSS_URL.findall(text)
    if suffix == ".js":
        found += [u for u in JS_URL.findall(text) if not u.startswith("http://www.w3.org/")]
    return found


@pytest.mark.parametrize("path", TEMPLATES + STATIC, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_is_loaded_from_another_host(path):
    if path.suffix in (".png", ".ico", ".jpg", ".webp", ".woff2", ".gz", ".br"):
        return
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"""xmlns(:\w+)?=["'][^"']*["']""", "", text)
    assert foreign_references(text, path.suffix) == []


@pytest.mark.parametrize("snippet, suffix", [
    ('<script src="https://cdn.example/x.js"></script>', ".html"),
    ('<link rel="stylesheet" href="//fonts.example/css">', ".html"),
    ('<img alt="" src="http://tiles.example/1.png">', ".html"),
    ("body { background: url(https://img.example/a.png) }", ".css"),
    ('@import "//fonts.example/a.css";', ".css"),
    ('fetch("https://api.example/track")', ".js"),
])
def test_foreign_reference_finder_finds_them(snippet, suffix):
    assert foreign_references(snippet, suffix)


def test_outbound_links_are_allowed():
    assert foreign_references('<a href="https://www.luebeck.de/">Lübeck</a>', ".html") == []


# --- error pages -----------------------------------------------------------------------------------------------

@pytest.fixture
def failing(app):
    def boom():
        """Fails the way a bug would."""
        raise RuntimeError("secret detail /etc/passwd")

    def forbidden():
        """Refuses."""
        from flask import abort

        abort(403)

    def too_many():
        """Refuses by limit."""
        from werkzeug.exceptions import TooManyRequests

        raise TooManyRequests(retry_after=30)

    def echo():
        """Reads the body."""
        from flask import request

        return {"size": len(request.get_data())}

    def bad():
        """Bad request."""
        from flask import abort

        abort(400)

    app.add_url_rule("/test/boom", "test_boom", boom)
    app.add_url_rule("/test/forbidden", "test_forbidden", forbidden)
    app.add_url_rule("/test/limit", "test_limit", too_many)
    app.add_url_rule("/test/bad", "test_bad", bad)
    app.add_url_rule("/test/echo", "test_echo", echo, methods=["POST"])
    return app


ERRORS = {
    400: ("/test/bad", "GET", "Something in the request was not right", "Bei der Anfrage stimmte etwas nicht"),
    403: ("/test/forbidden", "GET", "No access", "Kein Zugriff"),
    404: ("/no/such/page", "GET", "Page not found", "Seite nicht gefunden"),
    405: ("/healthz", "DELETE", "Not possible here", "Hier nicht möglich"),
    429: ("/test/limit", "GET", "Too many tries", "Zu viele Versuche"),
    500: ("/test/boom", "GET", "Something went wrong on our side", "Bei uns ist etwas schiefgelaufen"),
}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_error_pages_in_the_visitors_language(failing, client, code):
    path, method, english, german = ERRORS[code]
    en = client.open(path, method=method, headers={"Accept-Language": "en"})
    assert en.status_code == code and en.mimetype == "text/html"
    html = en.get_data(as_text=True)
    assert english in html and 'lang="en"' in html
    assert "Traceback" not in html and "secret detail" not in html
    de = client.open(path, method=method, headers={"Accept-Language": "de"})
    assert de.status_code == code and 'lang="de"' in de.get_data(as_text=True)
    assert english not in de.get_data(as_text=True)
    if german:
        assert german in de.get_data(as_text=True)


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_error_answers_in_json_for_json_clients(failing, client, code):
    path, method, english, _ = ERRORS[code]
    response = client.open(path, method=method, headers={"Accept": "application/json", "Accept-Language": "en"})
    assert response.status_code == code and response.mimetype == "application/json"
    assert response.json["error"] == code and response.json["ok"] is False
    assert response.json["title"] == english
    assert "secret detail" not in response.get_data(as_text=True)


def test_error_keeps_its_headers(failing, client):
    assert client.get("/test/limit").headers["Retry-After"] == "30"
    allow = client.delete("/healthz").headers["Allow"]
    assert "GET" in allow


def test_browser_accept_header_gets_html(failing, client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/no/such", headers={"Accept": accept}).mimetype == "text/html"
    assert client.get("/no/such", headers={"Accept": "*/*"}).mimetype == "text/html"


def test_500_hides_the_error_even_in_production_mode(failing, client, app):
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False, DEBUG=False)
    response = client.get("/test/boom")
    assert response.status_code == 500
    assert "RuntimeError" not in response.get_data(as_text=True)


def test_error_page_when_even_the_page_fails(failing, client, monkeypatch):
    import busapp.core.errors as errors

    def broken(*a, **kw):
        raise RuntimeError("template broke")

    monkeypatch.setattr(errors, "render_template", broken)
    response = client.get("/test/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "template broke" not in response.get_data(as_text=True)


def test_csrf_error_page(client):
    en = client.post("/signin", data={"email": "a@example.org", "password": "x"}, headers={"Accept-Language": "en"})
    assert en.status_code == 400 and "This form has expired" in en.get_data(as_text=True)
    de = client.post("/signin", data={"email": "a@example.org", "password": "x"}, headers={"Accept-Language": "de"})
    assert de.status_code == 400 and "This form has expired" not in de.get_data(as_text=True)
    js = client.post("/signin", data={}, headers={"Accept": "application/json"})
    assert js.status_code == 400 and js.json["error"] == 400


# --- request size ----------------------------------------------------------------------------------------------

def test_too_large_form_is_a_friendly_413(app, client):
    token = csrf_token(client, "/signin")
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/signin", data={"email": big, "password": "x", "csrf_token": token},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 413
    assert "Too much text" in response.get_data(as_text=True)


def test_too_large_json_is_a_json_413(failing, client, app):
    token = csrf_token(client, "/signin")
    body = '{"text": "' + "x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + '"}'
    response = client.post("/test/echo", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token, "Accept-Language": "en"})
    assert response.status_code == 413
    assert response.mimetype == "application/json" and response.json["title"] == "Too much text"


def test_body_within_the_limit_is_read(failing, client):
    token = csrf_token(client, "/signin")
    response = client.post("/test/echo", data="{}", content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json == {"size": 2}


def test_security_module_names_its_policy():
    assert "frame-ancestors 'none'" in security.CSP

