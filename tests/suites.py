"""Which tests run where: the one place that says it (tests/conftest.py applies it, .ci/run reads FULL_ONLY).

- submission (`make test`, SQLite): every test except the FULL_ONLY ones, the browser and axe tests included.
- database (`make test-pg`, PostgreSQL): the tests whose result can depend on the database, that is every test
  that reaches the test database (its fixtures include `database_url`, as every app fixture does, or its module
  reads TEST_DATABASE_URL itself), except the browser tests, which run once, on SQLite.
- full (`make test-full`): the FULL_ONLY tests, on SQLite and, where they reach the database, on PostgreSQL. CI runs
  them when a file they cover changes (or a file of this list, or the tests themselves).
- all (pytest without --suite, e.g. one file on its own): everything collected.

A run with --suite says at its end how many tests it left out and why; nothing is left out silently.
"""
from __future__ import annotations

# Test modules that leave the per-submission run, with the paths whose change makes CI run them. A path ending in
# "/" covers everything below it.
FULL_ONLY: dict[str, tuple[str, ...]] = {
    # Hypothesis's random half of the abuse test (thirty examples for each of some two hundred routes, minutes on two
    # workers and each database): whenever the app, its pages, its schema or the fuzzing itself change. The sweeps
    # of tests/test_fuzz.py, one hostile value at a time, stay in every submission.
    "tests/test_fuzz_random.py": (
        "busapp/", "templates/", "migrations/", "tests/test_fuzz.py", "tests/test_access.py", "requirements/",
    ),
    # Schemathesis tries the live API against its own OpenAPI document (about 40 s on a busy machine): whenever the
    # API, what it reads or the tour fixture it runs on changes.
    "tests/opendata/test_opendata_schemathesis.py": (
        "busapp/opendata/", "busapp/domain/", "busapp/models.py", "migrations/", "tests/opendata/test_opendata.py",
        "requirements/",
    ),
    # Two app nodes and two mail workers on one PostgreSQL, one node killed under booking load (about 100 s, much
    # of it a killed worker's mail lease running out): whenever booking, mail, jobs or how the app is served change.
    "tests/ops/test_nodes.py": (
        "busapp/booking/", "busapp/mail/", "busapp/domain/", "busapp/models.py", "busapp/__init__.py",
        "busapp/ops/monitoring.py", "busapp/core/pagecache.py", "busapp/core/ratelimit.py", "migrations/", "gunicorn.conf.py",
        "deploy/", "requirements/",
    ),
}

SUITES = ("submission", "database", "full", "all")

# Fixtures that reach the test database.
DATABASE_FIXTURES = frozenset({"database_url", "empty_database_url"})


def full_only(module: str) -> bool:
    return module in FULL_ONLY


def covered(changed: list[str]) -> list[str]:
    """The FULL_ONLY modules that a change of these files (paths from the repository's root) asks to run."""
    wanted = []
    for module, paths in FULL_ONLY.items():
        watch = (*paths, module, "tests/suites.py", "tests/conftest.py")
        if any(f == p or (p.endswith("/") and f.startswith(p)) for f in changed for p in watch):
            wanted.append(module)
    return wanted


if __name__ == "__main__":
    # .ci/run: the FULL_ONLY modules that the files named on standard input (one a line) ask to run.
    import sys

    print("\n".join(covered([line.strip() for line in sys.stdin if line.strip()])))
