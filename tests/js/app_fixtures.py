"""What the JavaScript unit tests (tests/js/) need from the app, as JSON on standard output: the service worker as
/sw.js serves it (and as it serves it with SW_KILL_SWITCH on), and the offline scripts' sentences (the page's #pwa-strings) in each language.

Run by tests/test_js_units.py once per test run (and by tests/js/harness.js when `node --test tests/js/` runs on
its own). The app runs on a throwaway SQLite file with its tables made; no page here reads a row.
"""
from __future__ import annotations

import html
import json
import re
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path


def fixtures() -> dict:
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from busapp import create_app
    from busapp.core.i18n import weekday_at
    from busapp.core.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/fixtures.sqlite3"})
        with app.app_context():
            db.create_all()
        # Requests outside that app context: each one picks its own language.
        client = app.test_client()
        worker = client.get("/sw.js")
        assert worker.status_code == 200, worker.status_code
        strings, paths = {}, None
        for tag in app.config["LANGUAGES"]:
            page = client.get(f"/offline?lang={tag}")
            assert page.status_code == 200, (tag, page.status_code)
            body = page.get_data(as_text=True)
            strings[tag] = json.loads(html.unescape(_meta(body, "pwa-strings")))
            paths = json.loads(html.unescape(_meta(body, "pwa-paths")))
        dates = {}
        for tag in app.config["LANGUAGES"]:
            with app.test_request_context(f"/?lang={tag}"):
                dates[tag] = {str(ms): weekday_at(datetime.fromtimestamp(ms / 1000, timezone.utc))
                              for ms in SAMPLE_MOMENTS}
        with app.app_context():
            db.engine.dispose()
        retired = create_app({"APP_ENV": "testing", "SW_KILL_SWITCH": True,
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/fixtures.sqlite3"})
        retire = retired.test_client().get("/sw.js")
        assert retire.status_code == 200, retire.status_code
        with retired.app_context():
            db.engine.dispose()
    return {"sw": worker.get_data(as_text=True), "sw_retire": retire.get_data(as_text=True), "strings": strings,
            "paths": paths, "dates": dates}


# Moments (ms since 1970) the server writes out for the scripts' tests to write the same: summer and winter time,
# the night the clocks go back (02:30 twice), the afternoon (12- and 24-hour clocks), a date with two-digit day.
SAMPLE_MOMENTS = (1782900000000, 1768471200000, 1792888200000, 1792891800000, 1765204200000, 1766760600000)


def _meta(body: str, element_id: str) -> str:
    match = re.search(rf"<meta[^>]*id=\"{element_id}\"[^>]*content='([^']*)'", body)
    assert match, f"no #{element_id} on the offline page"
    return match.group(1)


if __name__ == "__main__":
    json.dump(fixtures(), sys.stdout, ensure_ascii=False)
