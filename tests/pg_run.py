"""Run the test suite against a throwaway PostgreSQL database: create it, run pytest, drop it.

Usage: python tests/pg_run.py postgresql://postgres@127.0.0.1:5432 -- [pytest args]

With pytest-xdist (-n 2) each worker makes its own database beside this one (<name>_gw0, <name>_gw1, see
tests/conftest.py); whatever of them a stopped worker left behind is dropped here too.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys

import psycopg


def main(argv: list[str]) -> int:
    server = argv[0].rstrip("/")
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    name = f"busapp_test_{secrets.token_hex(4)}"
    admin = f"{server}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    print(f"created database {name}", flush=True)
    try:
        env = dict(os.environ, TEST_DATABASE_URL=f"{server}/{name}")
        return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            left = conn.execute("SELECT datname FROM pg_database WHERE datname = %s OR datname LIKE %s",
                                (name, f"{name}\\_gw%")).fetchall()
            for (database,) in left:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"dropped database {name}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
