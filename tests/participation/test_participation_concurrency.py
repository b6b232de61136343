"""Copies of one Mitreden answer sent at the same moment over real HTTP, and supports tapped at once: the answer is
stored once and every copy ends on the thank-you page; every device's support counts."""
from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.participation import service
from busapp.participation.models import Consultation, Contribution, Idea, Moderation
from tests.live import LiveServer

COPIES = 6


def _consultation(now) -> Consultation:
    c = Consultation(title="Gleichzeitig", idea_question="Was?", starts_at=now - timedelta(days=1),
                     ends_at=now + timedelta(days=1))
    db.session.add(c)
    db.session.commit()
    return c


def _at_once(requests: list[urllib.request.Request]) -> list[tuple[int, str]]:
    start = threading.Barrier(len(requests))
    results, lock = [], threading.Lock()

    def send(request):
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, url = response.status, response.url
        except urllib.error.HTTPError as exc:
            status, url = exc.code, exc.url
        with lock:
            results.append((status, url))

    threads = [threading.Thread(target=send, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return results


def _form(opener, url: str) -> dict:
    html = opener.open(url).read().decode()
    return {name: value for name, value in re.findall(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]+)"',
                                                       html) + re.findall(
        r'value="([^"]+)"[^>]*name="(csrf_token|idempotency_key)"', html)[::-1] if value}


def test_simultaneous_copies_of_one_answer_are_stored_once(app, now):
    app.config["RATELIMIT_FEEDBACK"] = "1000/600"
    c = _consultation(now)
    with LiveServer(app) as server:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        url = f"{server.url}/mitreden/{c.id}"
        fields = _form(opener, url)
        assert set(fields) == {"csrf_token", "idempotency_key"}, fields
        body = urllib.parse.urlencode(fields | {"idea": "Gleichzeitig gesendet"}).encode()
        cookie = "; ".join(f"{k.name}={k.value}" for k in jar)
        results = _at_once([urllib.request.Request(url, data=body, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}) for _ in range(COPIES)])
    # Every copy ends on the same thank-you page, with the same private link to follow the idea.
    assert len(set(results)) == 1 and results[0][0] == 200 and results[0][1].startswith(f"{url}/danke?folgen="), \
        results
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Idea.id))) == 1


def test_supports_tapped_at_once_all_count(app, now):
    app.config["RATELIMIT_FEEDBACK"] = "1000/600"
    c = _consultation(now)
    idea = Idea(consultation_id=c.id, text="Mehr WLAN", moderation=Moderation.PUBLISHED)
    db.session.add(idea)
    db.session.commit()
    with LiveServer(app) as server:
        requests = []
        for n in range(COPIES):
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            fields = _form(opener, f"{server.url}/mitreden/{c.id}")  # sets the device cookie and a session
            cookie = "; ".join(f"{k.name}={k.value}" for k in jar)
            requests.append(urllib.request.Request(
                f"{server.url}/mitreden/ideen/{idea.id}/unterstuetzen",
                data=urllib.parse.urlencode({"csrf_token": fields["csrf_token"]}).encode(),
                headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}))
        results = _at_once(requests)
    assert all(status == 200 for status, _ in results), results
    db.session.rollback()
    db.session.refresh(idea)
    assert idea.supports == COPIES
    assert service.support(idea, "x" * 32) is True


def test_supports_racing_a_merge_are_counted_once_each(app, now):
    """Devices tap support on two ideas while a coordinator merges one into the other: afterwards each idea's
    count is exactly the number of devices stored for it, and the merged one has none."""
    from busapp.participation.models import Support

    app.config["RATELIMIT_FEEDBACK"] = "1000/600"
    c = _consultation(now)
    keep = Idea(consultation_id=c.id, text="Mehr WLAN", moderation=Moderation.PUBLISHED)
    duplicate = Idea(consultation_id=c.id, text="WLAN bitte", moderation=Moderation.PUBLISHED)
    db.session.add_all([keep, duplicate])
    db.session.commit()
    keep_id, duplicate_id = keep.id, duplicate.id
    with LiveServer(app) as server:
        requests = []
        for n in range(COPIES):
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            fields = _form(opener, f"{server.url}/mitreden/{c.id}")
            cookie = "; ".join(f"{k.name}={k.value}" for k in jar)
            for idea_id in (keep_id, duplicate_id):
                requests.append(urllib.request.Request(
                    f"{server.url}/mitreden/ideen/{idea_id}/unterstuetzen",
                    data=urllib.parse.urlencode({"csrf_token": fields["csrf_token"]}).encode(),
                    headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}))
        merged = []

        def merge():
            with app.app_context():
                for _attempt in range(5):
                    try:
                        merged.append(service.merge(db.session.get(Idea, duplicate_id), db.session.get(Idea, keep_id)))
                        return
                    except service.Refused:
                        db.session.rollback()
                    finally:
                        db.session.remove()

        worker = threading.Thread(target=merge)
        worker.start()
        results = _at_once(requests)
        worker.join(timeout=90)
    assert len(merged) == 1, merged
    assert all(status == 200 for status, _ in results), results
    db.session.rollback()
    rows = dict(db.session.execute(sa.select(Support.idea_id, sa.func.count(Support.id)).group_by(Support.idea_id)).all())
    counts = dict(db.session.execute(sa.select(Idea.id, Idea.supports)).all())
    assert counts[duplicate_id] == 0 and duplicate_id not in rows
    # Every device's taps end up as one support for the idea kept: those on the duplicate moved or followed it.
    assert counts[keep_id] == rows.get(keep_id, 0) == COPIES
