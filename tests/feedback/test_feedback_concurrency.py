"""Copies of one answer sent at the same moment over real HTTP (a double tap, an outbox replay racing the
original): stored once, every copy told "saved"."""
from __future__ import annotations

import http.cookiejar
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Feedback
from tests.live import LiveServer
from tests.feedback.test_feedback import form_fields

COPIES = 8


def test_simultaneous_copies_are_stored_once(app, make_stop, now):
    app.config["RATELIMIT_FEEDBACK"] = "1000/600"
    stop = make_stop(starts_at=now - timedelta(hours=1))
    with LiveServer(app) as server:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        html = opener.open(f"{server.url}/f/{stop.id}").read().decode()
        body = urllib.parse.urlencode(form_fields(html) | {"rating": "5", "learned": "Gleichzeitig"}).encode()
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

        start = threading.Barrier(COPIES)
        results: list[tuple[int, dict]] = []
        lock = threading.Lock()

        def send():
            request = urllib.request.Request(f"{server.url}/f/{stop.id}", data=body, headers={
                "Cookie": cookie, "Accept": "application/json", "X-Outbox": "1",
                "Content-Type": "application/x-www-form-urlencoded",
            })
            start.wait()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    status, text = response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read().decode()
            with lock:
                results.append((status, json.loads(text)))

        threads = [threading.Thread(target=send) for _ in range(COPIES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (COPIES - 1) + [201], results
    assert all(answer["state"] == "saved" and answer["ok"] for _, answer in results)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 1
