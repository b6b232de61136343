"""The unit tests of the browser scripts (tests/js/*.test.js, Node's own test runner) as part of the suite.

Each file runs in its own `node --test` process with the service worker and the pages' sentences as this app
renders them (tests/js/app_fixtures.py); a failing JavaScript test fails here with Node's report. Node 18 or newer
is needed; without it the tests are skipped, except in CI (REQUIRE_BROWSER=1), where that is an error.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.js import app_fixtures

JS_TESTS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")


@pytest.fixture(scope="session")
def js_fixtures(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("js") / "fixtures.json"
    path.write_text(json.dumps(app_fixtures.fixtures(), ensure_ascii=False), encoding="utf-8")
    return path


def _node() -> str:
    if not NODE:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("node is not installed, and CI needs the browser scripts' unit tests")
        pytest.skip("node is not installed (apt-get install nodejs): the browser scripts' unit tests did not run")
    return NODE


def test_every_file_with_tests_is_run():
    """Node runs files named *.test.js here; one named otherwise would hold tests that never run."""
    holding = {p.name for p in JS_TESTS.glob("*.js") if 'require("node:test")' in p.read_text(encoding="utf-8")}
    assert holding and holding == set(_files())


def _files() -> list[str]:
    return sorted(p.name for p in JS_TESTS.glob("*.test.js"))


@pytest.mark.parametrize("name", _files())
def test_browser_script_unit_tests(name, js_fixtures):
    node = _node()
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(JS_TESTS / name)],
        cwd=JS_TESTS.parent.parent, env=dict(os.environ, DWB_JS_FIXTURES=str(js_fixtures)),
        capture_output=True, text=True, timeout=300,
    )
    report = result.stdout[-30_000:] + result.stderr[-5_000:]
    assert result.returncode == 0, report
    counted = re.search(r"^ℹ tests (\d+)$", result.stdout, re.M)
    assert counted and int(counted.group(1)) > 0, f"{name} ran no test:\n{report}"
