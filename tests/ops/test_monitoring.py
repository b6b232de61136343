"""Seeing that it runs: /readyz, /metrics (who may read it, what it counts), JSON request logs, job runs."""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp import create_app
from busapp.ops import monitoring
from busapp.core.extensions import db
from busapp.models import CheckIn, MailStatus, OutgoingMail, utcnow
from tests.booking.test_booking import book, token_of

TOKEN = "m" * 40


def metric(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus text format, or None when it is not there."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if match and match.group(1) == name:
            got = ",".join(sorted(match.group(2).split(","))) if match.group(2) else ""
            if got == want:
                return float(match.group(3))
    return None


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


# --- who may read /metrics --------------------------------------------------------------------------------------


def test_metrics_answer_trusted_networks_and_the_token_only(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    app.config["METRICS_TOKEN"] = ""
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer "}).status_code == 404


def test_behind_the_proxy_the_visitors_address_decides(app):
    proxied = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "PROXY_COUNT": 1})
    client = proxied.test_client()
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    with proxied.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("setting, value", [("METRICS_NETWORKS", "10.0.0.0/33"), ("METRICS_TOKEN", "short"),
                                            ("LOG_FORMAT", "xml")])
def test_bad_monitoring_settings_refuse_to_start(monkeypatch, setting, value):
    from busapp.core.config import ConfigError

    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigError, match=setting):
        create_app({"APP_ENV": "testing"})


# --- what it counts ---------------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_and_status_never_by_address(app, client, make_workshop):
    workshop = make_workshop()
    before = scrape(client)
    ticket = token_of(book(client, workshop.id))
    assert client.get(f"/t/{ticket}").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    text = scrape(client)

    def grew(name, **labels):
        return (metric(text, name, **labels) or 0) - (metric(before, name, **labels) or 0)

    assert grew("busapp_http_requests_total", route="/t/<token>", method="GET", status="200") == 1
    assert grew("busapp_http_requests_total", route="/workshops/<int:workshop_id>/book", method="POST",
                status="303") == 1
    assert grew("busapp_http_requests_total", route="(no route)", method="GET", status="404") == 1
    assert grew("busapp_http_request_duration_seconds_count", route="/t/<token>", method="GET") == 1
    assert ticket not in text


def test_answers_from_the_page_cache_are_counted_under_their_route(app, client, make_workshop):
    app.config["PAGE_CACHE_SECONDS"] = 60
    stop = make_workshop().stop
    path = f"/s/{stop.id}"
    before = metric(scrape(client), "busapp_http_requests_total", route="/s/<int:stop_id>", method="GET",
                    status="200") or 0
    for _ in range(3):
        anonymous = app.test_client()  # no session cookie: the cache may answer
        assert anonymous.get(path).status_code == 200
    after = metric(scrape(client), "busapp_http_requests_total", route="/s/<int:stop_id>", method="GET",
                   status="200")
    assert after - before == 3


def test_bookings_checkins_mail_and_lags_come_from_the_database(app, client, make_workshop, now):
    workshop = make_workshop()
    book(client, workshop.id)
    book(client, workshop.id, party_size="2")
    db.session.add_all([
        OutgoingMail(to_address="a@example.org", subject="s", body="b", message_id="<1@x>",
                     status=MailStatus.WAITING, next_attempt_at=now - timedelta(minutes=10)),
        OutgoingMail(to_address="b@example.org", subject="s", body="b", message_id="<2@x>",
                     status=MailStatus.WAITING, next_attempt_at=now + timedelta(minutes=10)),
        OutgoingMail(to_address="c@example.org", subject="s", body="b", message_id="<3@x>", status=MailStatus.DEAD),
        CheckIn(nonce="n" * 20, kind="walk_in", workshop_id=workshop.id, outcome="ok",
                acted_at=now - timedelta(minutes=25), received_at=now - timedelta(minutes=5)),
    ])
    db.session.commit()
    text = scrape(client)
    assert metric(text, "busapp_database_up") == 1
    assert metric(text, "busapp_bookings", status="confirmed") == 2
    assert metric(text, "busapp_bookings", status="waiting") == 0
    assert metric(text, "busapp_mail_messages", status="dead") == 1
    assert metric(text, "busapp_mail_messages", status="waiting") == 2
    assert 590 <= metric(text, "busapp_mail_oldest_due_seconds") <= 700  # only the due one counts
    assert metric(text, "busapp_checkins", kind="walk_in") == 1
    assert 1190 <= metric(text, "busapp_checkin_sync_lag_seconds") <= 1210


def test_the_jobs_last_runs_are_metrics(app, client, runner, tmp_path):
    assert metric(scrape(client), "busapp_job_last_run_timestamp_seconds", job="purge") is None
    for args in (["purge"], ["remind"], ["backup", "create", "--to", str(tmp_path)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    text = scrape(client)
    for job in ("purge", "remind", "backup"):
        ran = metric(text, "busapp_job_last_run_timestamp_seconds", job=job)
        assert ran is not None and abs(ran - utcnow().timestamp()) < 120, job


def test_every_metric_an_alert_names_exists():
    import yaml

    from tests.conftest import ROOT

    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(exprs) >= 5
    named = {m for e in exprs for m in re.findall(r"\b(busapp_[a-z_]+)", e)}
    known = {"busapp_http_requests_total", "busapp_http_request_duration_seconds_bucket", "busapp_database_up",
             "busapp_bookings", "busapp_checkins", "busapp_mail_messages", "busapp_mail_oldest_due_seconds",
             "busapp_checkin_sync_lag_seconds", "busapp_job_last_run_timestamp_seconds"}
    assert named and named <= known, named - known


# --- readiness --------------------------------------------------------------------------------------------------


def stamp(revision: str | None) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        if revision:
            conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})


@pytest.fixture
def revisions(app):
    heads, known = monitoring._revisions(str(monitoring.Path(app.root_path).parent / "migrations"))
    yield heads, known
    stamp(None)


def test_ready_when_the_schema_is_the_codes(client, revisions):
    heads, known = revisions
    (head,) = heads
    stamp(head)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["status"] == "ready"
    older = sorted(known - heads)[0]
    stamp(older)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "migrations pending"
    assert response.headers["Retry-After"]
    stamp("a_revision_from_a_newer_release")  # migrated for the next version; this node is reloaded next
    response = client.get("/readyz")
    assert response.status_code == 200 and "newer" in response.json["note"]
    stamp(None)
    assert client.get("/readyz").json["status"] == "no schema"


def test_not_ready_without_the_database(tmp_path):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/db.sqlite3"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["database"] is False


# --- logs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def json_logs(app):
    """LOG_FORMAT=json for this app; the loggers (shared by every app in the process) are put back afterwards."""
    from flask.logging import default_handler

    app.config["LOG_FORMAT"] = "json"
    monitoring._use_json_logs(app)
    yield app
    app.logger.removeHandler(monitoring._json_handler)
    app.logger.addHandler(default_handler)
    access = logging.getLogger("busapp.access")
    access.removeHandler(monitoring._json_handler)
    access.propagate = True


def test_json_logs_say_one_line_per_request_with_its_id_and_nothing_personal(json_logs, client, make_workshop,
                                                                            capsys):
    workshop = make_workshop()
    ticket = token_of(book(client, workshop.id, name="Erika Mustermann", contact="erika@example.org"))
    capsys.readouterr()
    response = client.get(f"/t/{ticket}?lang=de", headers={"X-Request-ID": "from-nginx-0123456789",
                                                            "User-Agent": "Secret Browser"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert response.headers["X-Request-ID"] == "from-nginx-0123456789"
    (line,) = [entry for entry in lines if entry.get("message") is None]
    assert line["request_id"] == "from-nginx-0123456789"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/t/<token>", 200)
    assert line["duration_ms"] >= 0
    everything = json.dumps(lines)
    for secret in (ticket, "Erika", "erika@example.org", "127.0.0.1", "Secret Browser", "lang=de"):
        assert secret not in everything


def test_a_request_without_a_usable_id_gets_one(client):
    first = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second) and first != second


def test_an_error_is_logged_by_route_and_type_without_its_message(json_logs, capsys):
    app = json_logs

    @app.get("/t/<token>/boom")
    def boom(token):
        raise ValueError(f"secret detail {token}")

    capsys.readouterr()
    assert app.test_client().get("/t/PRIVATE-TOKEN-123/boom").status_code == 500
    err = capsys.readouterr().err
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (error,) = [e for e in entries if e.get("level") == "error"]
    assert error["exception"] == "ValueError" and error["route"] == "/t/<token>/boom"
    assert "PRIVATE-TOKEN-123" not in err  # the message is left out; the traceback shows code, not values
