"""Abuse test over the whole URL map: hostile values into every form and query string, and the checks they share.

Every field of every writing route (POST and the like), one at a time, and every query parameter of every GET route
gets huge strings, NUL bytes, unicode, markup, negative and huge numbers and repeated values, in an otherwise
plausible request with a valid CSRF token; ids no database column can hold go into every path. It asserts:
- never a 500;
- a refusal (4xx) changes no table (only the rate-limit counters may move);
- no row anywhere holds an invalid value (too long for its column, a NUL byte, a naive time, seats out of step).
Form fields are found by reading every page the app serves, so new forms are fuzzed as soon as they exist. The
random half (Hypothesis, thirty examples a route, as a form or as JSON, with a wrong CSRF token or none too) is
tests/test_fuzz_random.py, in `make test-full`.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from busapp import create_app
from busapp.core.extensions import db
from busapp.models import BookingStatus, UTCDateTime
from tests.conftest import IsolatedClient, _driver, _empty_tables, csrf_token
from tests.test_access import (
    ROUTE_APP, all_rules, build_path, build_world, find_rule, make_account, required_roles, rule_id, sign_in,
)

WRITING = ("POST", "PUT", "PATCH", "DELETE")
# Query parameters worth trying on every GET route, besides those its own forms name.
COMMON_PARAMS = ("lang", "next", "page", "q", "district", "stop", "workshop", "date", "day", "format", "v", "code")
# Tables a refused request may still change.
COUNTERS = {"rate_counter"}
EXAMPLES = 30

HOSTILE = [
    "", " ", "\x00", "a\x00b", "\x00" * 3, "\t\r\n", "' OR '1'='1", "'; DROP TABLE booking; --",
    "1; SELECT pg_sleep(5)",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "{{7*7}}", "${7*7}",
    "{% raw %}", "../../../etc/passwd", "%00", "%s%s%s%n", "\u202e\u202dabc", "😀" * 20, "𝕳𝖊𝖑𝖑𝖔", "ß" * 300,
    "ä" * 5000, "-1", "0", "-0", "1.5", "-2147483649", "2147483648", "9223372036854775808", "1" * 40, "1e309",
    "NaN", "inf", "-inf", "0x10", "١٢٣", "[]", "{}", "null", "true", "undefined", "\r\nX-Injected: 1",
    "a" * 1000, "a" * 70_000, "//evil.example", "https://evil.example/", "\\\\evil.example", "0000-00-00",
    "2026-02-30", "9999-12-31T23:59:59", "de", "en", "xx", "staff", "coordinator", "confirmed", "waiting",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


# --- finding the forms -----------------------------------------------------------------------------------------

class FormFinder(HTMLParser):
    """Every <form> of a page: method, action and its fields with the values the page offers."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").upper(), "action": a.get("action", ""),
                          "fields": defaultdict(set), "types": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea", "button") and a.get("name"):
            name = a["name"]
            self._form["types"].setdefault(name, a.get("type", tag).lower())
            if "value" in a:
                self._form["fields"][name].add(a["value"])
            else:
                self._form["fields"][name]
            if tag == "select":
                self._select = name
        elif tag == "option" and self._form is not None and self._select:
            self._form["fields"][self._select].add(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None



# /readyz answers 503 by design while the database carries no migration stamp (the test databases are made with
# create_all): that is its answer, not a failure. Every other 5xx is a server error.
DESIGNED_503 = frozenset({"/readyz"})


def server_error(path: str, status: int) -> bool:
    return status >= 500 and not (status == 503 and path.split("?")[0] in DESIGNED_503)


def discover_forms(app, world, user) -> dict[tuple[str, str], dict]:
    """{(endpoint, METHOD): {field: {offered values}, ...}} from every GET page of the app."""
    found: dict[tuple[str, str], dict] = defaultdict(lambda: {"fields": defaultdict(set), "types": {}})
    adapter = app.url_map.bind("localhost")
    client = app.test_client()
    sign_in(client, user)
    for rule in all_rules(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        try:
            path = build_path(app, rule, "GET", world, user)
        except BaseException:  # noqa: BLE001 - test_access reports unbuildable rules
            continue
        with client.get(path) as response:
            if response.mimetype != "text/html":
                continue
            finder = FormFinder()
            finder.feed(response.get_data(as_text=True))
        for form in finder.forms:
            target = urlsplit(urljoin(f"http://localhost{path}", form["action"] or path))
            try:
                endpoint, _ = adapter.match(target.path, method=form["method"])
            except HTTPException:
                continue
            entry = found[(endpoint, form["method"])]
            for name, values in form["fields"].items():
                entry["fields"][name] |= values
            entry["types"].update(form["types"])
    return found


# --- what a request may leave behind ---------------------------------------------------------------------------

def snapshot(names: set[str] | None = None) -> dict[str, str]:
    """A digest of every table's rows, or of the tables named (read on a connection of its own, as committed)."""
    digests = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if names is not None and table.name not in names:
                continue
            rows = conn.execute(sa.select(table)).all()
            text = "\n".join(sorted(repr(tuple(r)) for r in rows))
            digests[table.name] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def invalid_rows() -> list[str]:
    """Rows whose values the schema does not allow, or that break the seat count."""
    problems = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column in table.columns:
                    value = row[column.name]
                    where = f"{table.name}.{column.name} = {value!r:.80}"
                    if isinstance(value, str):
                        if "\x00" in value:
                            problems.append(f"NUL byte in {where}")
                        length = getattr(column.type, "length", None)
                        if length and len(value) > length:
                            problems.append(f"{len(value)} characters in {where} (max {length})")
                    if isinstance(column.type, UTCDateTime) and isinstance(value, datetime) and value.tzinfo is None:
                        problems.append(f"naive time in {where}")
                    if value is None and not column.nullable:
                        problems.append(f"NULL in {where}")
        if "workshop" in db.metadata.tables and "booking" in db.metadata.tables:
            workshop, booking = db.metadata.tables["workshop"], db.metadata.tables["booking"]
            seats = (sa.select(sa.func.coalesce(sa.func.sum(booking.c.party_size), 0))
                     .where(booking.c.workshop_id == workshop.c.id, booking.c.status == BookingStatus.CONFIRMED)
                     .scalar_subquery())
            for wid, taken, counted in conn.execute(sa.select(workshop.c.id, workshop.c.seats_taken, seats)):
                if taken != counted:
                    problems.append(f"workshop {wid}: seats_taken {taken} but confirmed bookings hold {counted}")
    return problems


# --- the targets -----------------------------------------------------------------------------------------------

TARGETS = [
    pytest.param(rule.rule, rule.endpoint, method, id=rule_id(rule, method))
    for rule in all_rules()
    if rule.endpoint != "static"
    for method in sorted(rule.methods)
    if method in WRITING or method == "GET"
]


@pytest.fixture(scope="module")
def fuzz_app(_schema, database_url):
    """One app for the module (Hypothesis runs many examples per test), without rate limits."""
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url),
                      "RATELIMIT_ENABLED": False})
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def forms_of(fuzz_app):
    """forms_of(protected): the forms discover_forms finds, anonymously or signed in as a coordinator.

    Read once per module from a clean database with one world in it: the forms and their fields are the same for
    every target (each example builds its own world anyway)."""
    found: dict[bool, dict] = {}

    def forms(protected: bool) -> dict:
        if protected not in found:
            db.session.remove()
            _empty_tables()
            try:
                found[protected] = discover_forms(fuzz_app, build_world(),
                                                  make_account("coordinator") if protected else None)
            finally:
                db.session.remove()
                _empty_tables()
        return found[protected]

    return forms


# A sensible value per field name or input type, so that most of a submission can be right and one field hostile.
PLAUSIBLE = (
    (re.compile(r"e-?mail|contact", re.I), "someone@example.org"),
    (re.compile(r"name", re.I), "Erika Muster"),
    (re.compile(r"password", re.I), "correct horse battery"),
    (re.compile(r"phone|tel", re.I), "0451 1234567"),
    (re.compile(r"size|count|number|rating|seats|capacity|minutes", re.I), "2"),
    (re.compile(r"date|day", re.I), "2030-01-15"),
    (re.compile(r"time", re.I), "10:00"),
)


def plausible(name: str, kind: str, offered: set[str]) -> str:
    if "idempotency" in name:
        return str(uuid.uuid4())
    options = sorted(v for v in offered if v)
    if options:
        return options[-1]
    for pattern, value in PLAUSIBLE:
        if pattern.search(name) or pattern.search(kind):
            return value
    return "Gut erklärt"


def _fresh_world(app, rule, method, protected):
    """Every example starts from the same clean world, so a failure is the failing example's own doing."""
    db.session.remove()
    _empty_tables()
    world = build_world()
    user = make_account("coordinator") if protected else None
    return build_path(app, rule, method, world, user), user


def table_rows() -> dict[str, list[dict]]:
    """Every table's rows, as committed (to put a table back as it was)."""
    with db.engine.connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(sa.select(t)).mappings()] for t in db.metadata.sorted_tables}


def put_back(rows: dict[str, list[dict]], names: set[str]) -> bool:
    """Write the tables named back to the rows given, in one transaction: all of their rows deleted, the given ones
    inserted again with their ids. Foreign keys are not checked meanwhile (nor are their cascades run), so a
    parent's rows can go and come back under children that did not change. False (nothing written) where the
    database does not allow that, e.g. a PostgreSQL role that may not set session_replication_role."""
    tables = [t for t in db.metadata.sorted_tables if t.name in names]
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # only outside a transaction; set back before the connection goes back to the pool
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if not sqlite:
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                for table in reversed(tables):
                    conn.execute(table.delete())
                for table in tables:
                    if rows[table.name]:
                        conn.execute(table.insert(), rows[table.name])
        except sa.exc.DBAPIError:
            return False
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    return True


class CleanWorld:
    """The same clean world for every request.

    Built once (tables emptied, the world made, a client signed in); a request that changed tables (rate counters
    aside) has those tables put back to the clean world's rows, and the world is built afresh only when that does not
    give the same digests again. After any answer but a refusal (4xx) the next request gets a new client carrying the
    session cookie as it was right after signing in, so nothing a request put in its session (a language chosen, a
    station switched on) reaches the next. A failed check rebuilds both."""

    def __init__(self, app, rule, method, protected):
        self.app, self.rule, self.method, self.protected = app, rule, method, protected
        self.world = self.client = self.cookie = None
        self.checked: set[tuple] = set()

    def get(self):
        """(path, signed-in client, its CSRF token, the clean world's snapshot)."""
        if self.world is None:
            path, user = _fresh_world(self.app, self.rule, self.method, self.protected)
            clean = snapshot()
            problems = self.invalid_rows(clean)
            assert not problems, problems
            self.world = (path, user, clean, table_rows())
            self.client = self.cookie = None
        path, user, clean, _ = self.world
        if self.client is None:
            client = self.app.test_client()
            name = self.app.config["SESSION_COOKIE_NAME"]
            if self.cookie is None:
                sign_in(client, user)
                token = csrf_token(client, "/signin")
                cookie = client.get_cookie(name)
                self.cookie = (cookie.value if cookie else None, token)
            elif self.cookie[0] is not None:
                client.set_cookie(name, self.cookie[0])
            self.client = (client, self.cookie[1])
        return (path, *self.client, clean)

    def forget(self) -> None:
        self.world = self.client = self.cookie = None

    def invalid_rows(self, digests: dict[str, str]) -> list[str]:
        """invalid_rows(), read once per distinct state of the tables (the same rows give the same answer)."""
        key = tuple(sorted(digests.items()))
        if key in self.checked:
            return []
        problems = invalid_rows()
        if not problems:
            self.checked.add(key)
        return problems

    def answered(self, status: int, after: dict[str, str]) -> None:
        clean, rows = self.world[2], self.world[3]
        changed = {t for t in clean if t not in COUNTERS and after[t] != clean[t]}
        if changed:
            db.session.remove()
            if not put_back(rows, changed) or any(  # nothing else was written: no foreign key actions ran
                    again != clean[t] for t, again in snapshot(changed).items()):
                self.forget()  # not the same world again: build it afresh
                return
        if not 400 <= status < 500:  # a refusal leaves the session as it was; anything else may not
            self.client = None


def test_form_finder_reads_fields_and_choices():
    finder = FormFinder()
    finder.feed('<form method="post" action="/x"><input name="a" value="1"><select name="s">'
                '<option value="p">P</option><option value="q">Q</option></select><textarea name="t"></textarea>'
                '<input type="radio" name="r" value="1"><input type="radio" name="r" value="2"></form>'
                '<form><input name="q"></form>')
    post, get = finder.forms
    assert post["method"] == "POST" and post["action"] == "/x"
    assert dict(post["fields"]) == {"a": {"1"}, "s": {"p", "q"}, "t": set(), "r": {"1", "2"}}
    assert get["method"] == "GET" and set(get["fields"]) == {"q"}


def test_the_checks_catch_a_half_write(app, make_workshop):
    workshop = make_workshop(capacity=4)
    assert invalid_rows() == []
    before = snapshot()
    workshop.seats_taken = 2  # seats taken without bookings behind them
    if db.engine.dialect.name == "sqlite":  # PostgreSQL would refuse the long title itself
        workshop.title = "x" * 500
    db.session.commit()
    assert snapshot()["workshop"] != before["workshop"]
    problems = invalid_rows()
    assert any("seats_taken" in p for p in problems)
    if db.engine.dialect.name == "sqlite":
        assert any("500 characters" in p for p in problems)


@pytest.mark.parametrize("rule", [r for r in all_rules(ROUTE_APP) if any(
    isinstance(c, IntegerConverter) for c in r._converters.values())], ids=rule_id)
@pytest.mark.parametrize("number", [0, 2**31, 2**63, 10**30])
def test_huge_ids_in_the_path_are_not_found(fuzz_app, rule, number):
    """An id no database column can hold is a 404, not a database error."""
    with fuzz_app.app_context():
        try:
            world = build_world()
            for name, converter in rule._converters.items():
                if isinstance(converter, IntegerConverter):
                    world["values"][name] = number
            real = find_rule(fuzz_app, rule.rule, rule.endpoint)
            user = make_account("coordinator") if required_roles(fuzz_app, rule.endpoint) else None
            client = fuzz_app.test_client()
            sign_in(client, user)
            values = {k: v for k, v in world["values"].items()}
            built = real.build({**(real.defaults or {}), **{n: values.get(n, 1) for n in real.arguments}},
                               append_unknown=False)
            assert built is not None
            for method in sorted(real.methods & {"GET", "POST"}):
                kwargs = {}
                if method == "POST":
                    token = csrf_token(client, "/signin")
                    kwargs = {"data": {"csrf_token": token}}
                with client.open(built[1], method=method, **kwargs) as response:
                    assert not server_error(built[1], response.status_code), (method, built[1], response.status_code)
        finally:
            db.session.remove()
            _empty_tables()


def test_fuzzing_reaches_forms(tmp_path):
    """The generic discovery must actually see the app's forms (else the fuzzing above tests little)."""
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'forms.sqlite3'}"})
    with app.app_context():
        db.create_all()
        forms = discover_forms(app, build_world(), None)
        assert ("auth.signin", "POST") in forms
        assert {"email", "password"} <= set(forms[("auth.signin", "POST")]["fields"])
        db.engine.dispose()


def test_each_hostile_value_as_a_name_is_answered_and_stored_cleanly_or_not_at_all(app, client, make_workshop):
    """Every hostile value, sent as the booking's name: an answer that is no server error, and a booking only when
    the answer says so, with the name stored without control characters and never as markup."""
    from busapp.models import Booking
    from tests.booking.test_booking import form_tokens

    workshop = make_workshop(capacity=4)
    app.config["RATELIMIT_ENABLED"] = False
    made = 0
    for value in HOSTILE:
        data = form_tokens(client, workshop.id)
        data.update({"name": value, "party_size": "1", "consent": "y"})
        response = client.post(f"/workshops/{workshop.id}/book", data=data)
        assert response.status_code in (303, 413, 422), (value[:40], response.status_code)
        stored = db.session.scalar(sa.select(Booking).where(Booking.idempotency_key == data["idempotency_key"]))
        assert (stored is not None) == (response.status_code == 303), value[:40]
        if stored is not None:
            made += 1
            assert "\x00" not in stored.name and stored.name == stored.name.strip()
            ticket = client.get(response.headers["Location"]).get_data(as_text=True)
            assert "<script>alert" not in ticket
    assert made >= 1


# --- one field at a time: a deterministic sweep beside the random search -----------------------------------------

NASTY = {
    "NUL": "a\x00b",
    "long": "ü" * 5000,
    "huge number": "9" * 30,
    "negative": "-7",
    "markup": '<script>alert(1)</script>"\'>',
    "two values": ["1", "2"],
    "empty": "",
}

WRITE_TARGETS = [t for t in TARGETS if t.values[2] in WRITING]


@pytest.mark.parametrize("rule_text, endpoint, method", WRITE_TARGETS)
def test_each_field_alone_with_nasty_values(fuzz_app, forms_of, rule_text, endpoint, method):
    """A plausible submission with exactly one field made nasty: never a 500, never a half-write or bad row."""
    app = fuzz_app
    failures: dict[tuple[str, str, str], str] = {}
    with app.app_context():
        try:
            rule = find_rule(app, rule_text, endpoint)
            protected = bool(required_roles(app, endpoint))
            form = forms_of(protected).get((endpoint, method), {"fields": {}, "types": {}})
            fields = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
            world = CleanWorld(app, rule, method, protected)
            for field in sorted(fields):
                for label, nasty in NASTY.items():
                    path, client, token, before = world.get()
                    body = {name: plausible(name, form["types"].get(name, ""), offered)
                            for name, offered in fields.items()}
                    body[field] = nasty
                    body["csrf_token"] = token
                    with client.open(path, method=method, data=body) as response:
                        status = response.status_code
                    after = snapshot()
                    problem = None
                    if server_error(path, status):
                        problem = f"answer {status}"
                    elif 400 <= status < 500 and any(before[t] != after[t] for t in before if t not in COUNTERS):
                        problem = f"answer {status} but tables changed"
                    else:
                        bad = world.invalid_rows(after)
                        problem = f"answer {status}, stored {bad}" if bad else None
                    world.answered(status, after)
                    if problem:
                        failures[(endpoint, field, label)] = f"{method} {path} {field}={nasty!r:.40}: {problem}"
        finally:
            db.session.remove()
            _empty_tables()
    assert not failures, "\n".join(failures.values())


GET_TARGETS = [t for t in TARGETS if t.values[2] == "GET"]


@pytest.mark.parametrize("rule_text, endpoint, method", GET_TARGETS)
def test_each_query_parameter_alone_with_nasty_values(fuzz_app, forms_of, rule_text, endpoint, method):
    """Every query parameter a page's forms name (and the common ones), one at a time: never a 500."""
    app = fuzz_app
    failures = []
    with app.app_context():
        try:
            rule = find_rule(app, rule_text, endpoint)
            protected = bool(required_roles(app, endpoint))
            forms = forms_of(protected)
            path, user = _fresh_world(app, rule, method, protected)
            params = set(COMMON_PARAMS) | set(forms.get((endpoint, "GET"), {"fields": {}})["fields"])
            client = app.test_client()
            sign_in(client, user)
            for param in sorted(params - {"csrf_token"}):
                for label in ("NUL", "long", "huge number", "negative", "two values", "markup"):
                    with client.get(path, query_string={param: NASTY[label]}) as response:
                        if server_error(path, response.status_code):
                            failures.append(f"GET {path}?{param}={NASTY[label]!r:.40}: {response.status_code}")
        finally:
            db.session.remove()
            _empty_tables()
    assert not failures, "\n".join(failures)
