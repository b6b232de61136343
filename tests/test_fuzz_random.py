"""The random half of the abuse test (tests/test_fuzz.py has the deterministic sweeps and the checks both use):
Hypothesis sends random and hostile values into every form and query string of every route, as a form or as JSON,
with a valid CSRF token, a wrong one and none, and asserts never a 500, no table changed by a refusal, and no row
holding an invalid value.

It runs in `make test-full` (tests/suites.py: whenever the app, its templates, migrations or these tests change),
since thirty examples for each of some two hundred routes take minutes; the sweeps of test_fuzz.py, one hostile
value at a time in each field and query parameter, run on every submission.
"""
from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from busapp.core.extensions import db
from tests.conftest import _empty_tables
from tests.test_access import find_rule, required_roles
from tests.test_fuzz import (  # noqa: F401  (fuzz_app and forms_of are the module's fixtures)
    COMMON_PARAMS, COUNTERS, EXAMPLES, TARGETS, CleanWorld, forms_of, fuzz_app, header_text, hostile_text, plausible,
    server_error, snapshot,
)


def payloads(fields: dict, types: dict):
    """(known fields, extra fields): either all fields random, or a plausible submission with one or two fields
    made hostile, since a form that fails at its first field never shows what its later steps do with bad input."""
    per_field = {}
    for name, offered in fields.items():
        options = sorted(v for v in offered if len(v) < 200)
        choices = [st.sampled_from(options)] if options else []
        if "idempotency" in name:
            choices.append(st.uuids().map(str))
        per_field[name] = st.one_of(*choices, hostile_text, st.lists(hostile_text, min_size=2, max_size=3),
                                    st.none())
    all_random = st.fixed_dictionaries(per_field)
    base = {name: plausible(name, types.get(name, ""), offered) for name, offered in fields.items()}
    if fields:
        mostly_right = st.lists(st.sampled_from(sorted(fields)), min_size=0, max_size=2, unique=True).flatmap(
            lambda names: st.fixed_dictionaries({n: per_field[n] for n in names}).map(lambda bad: {
                **{k: (str(uuid.uuid4()) if "idempotency" in k else v) for k, v in base.items()}, **bad}))
        known = st.one_of(mostly_right, all_random)
    else:
        known = all_random
    extra = st.dictionaries(st.sampled_from(COMMON_PARAMS) | st.text(min_size=1, max_size=12), hostile_text,
                            max_size=3)
    return st.tuples(known, extra)


def _clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("rule_text, endpoint, method", TARGETS)
def test_no_500_and_nothing_half_written(fuzz_app, forms_of, rule_text, endpoint, method):
    """Random and hostile input never breaks the app or leaves a partial write."""
    app = fuzz_app
    with app.app_context():
        try:
            rule = find_rule(app, rule_text, endpoint)
            protected = bool(required_roles(app, endpoint))
            form = forms_of(protected).get((endpoint, method), {"fields": {}, "types": {}})
            if method == "GET":
                fields = {name: set() for name in COMMON_PARAMS}
                fields.update(form["fields"])
            else:
                fields = dict(form["fields"])
            fields.pop("csrf_token", None)
            _run(app, rule, method, protected, fields, form["types"])
        finally:
            db.session.remove()
            _empty_tables()


def _run(app, rule, method, protected, fields, types):
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=payloads(fields, types),
           csrf=st.sampled_from(["valid", "valid", "none", "wrong"]),
           as_json=st.booleans(),
           headers=st.fixed_dictionaries({}, optional={
               "Accept": st.sampled_from(["application/json", "text/html", "*/*"]),
               "HX-Request": st.just("true"),
               "X-Outbox": st.just("1"),
               "Idempotency-Key": header_text,
               "Accept-Language": st.sampled_from(["en", "de", "xx", "*", "de;q=x"]),
               "Referer": header_text,
           }))
    def check(data, csrf, as_json, headers):
        try:
            attempt(data, csrf, as_json, headers)
        except BaseException:
            world.forget()  # whatever a failing example left behind is not the next one's start
            raise

    def attempt(data, csrf, as_json, headers):
        known, extra = data
        path, client, token, before = world.get()
        headers = dict(headers)
        if method == "GET":
            query = {**_clean(extra), **_clean(known)}
            note(f"GET {path} query={query!r:.2000} headers={headers}")
            response = client.get(path, query_string=query, headers=headers)
        else:
            body = {**_clean(extra), **_clean(known)}
            if csrf != "none":
                token = token if csrf == "valid" else "x" + uuid.uuid4().hex
                body["csrf_token"] = token
                headers["X-CSRFToken"] = token
            note(f"{method} {path} {'json' if as_json else 'form'}={body!r:.2000} headers={headers}")
            if as_json:
                response = client.open(path, method=method, data=json.dumps(body), headers=headers,
                                       content_type="application/json")
            else:
                response = client.open(path, method=method, data=body, headers=headers)
        with response:
            status = response.status_code
            note(f"answer {status}")
            assert not server_error(path, status), f"{status} for {method} {path}"
        after = snapshot()
        if 400 <= status < 500:
            changed = sorted(name for name in before if before[name] != after[name] and name not in COUNTERS)
            assert not changed, f"answer {status} but these tables changed: {changed}"
        problems = world.invalid_rows(after)
        world.answered(status, after)
        assert not problems, problems

    world = CleanWorld(app, rule, method, protected)
    check()
