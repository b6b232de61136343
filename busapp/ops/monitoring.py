"""Seeing that it runs: readiness, Prometheus metrics, one JSON log line per request, and when the jobs last ran.

/healthz   (busapp/__init__.py) the process answers and the database does: for a load balancer's liveness check.
/readyz    this node can serve: the database answers and its schema is not older than this code. A database newer
           than the code (the migration of a rolling upgrade ran, this node is not reloaded yet) is still ready: the
           old code keeps working on it meanwhile (README, "Upgrading").
/metrics   Prometheus text format, only for METRICS_NETWORKS or with "Authorization: Bearer <METRICS_TOKEN>";
           everyone else gets a 404. Requests by route, method and status and their duration are counted by a WSGI
           wrapper outside the page cache, so cached answers count too; under gunicorn the workers' counts meet in
           PROMETHEUS_MULTIPROC_DIR (prometheus_client's multi-process mode, gunicorn.conf.py). Everything else is
           read from the database at each scrape, so it is the same whichever node is asked and needs no process to
           remember anything: bookings, check-ins, mail waiting and given up, how long the oldest due mail has
           waited (outbox lag), how late tablets' check-ins arrived (tablet queue lag), when purge, reminders and
           backup last ran.
LOG_FORMAT=json  one line per request: time, request id (nginx's X-Request-ID, or made here, and sent back in
           X-Request-ID), method, route (never the address: /t/<token>), status, duration. No client address, no
           query string, no user agent. The app's other log lines become JSON too, with the request id; an
           exception is logged by its type and traceback, without its message, which may quote personal data.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from ipaddress import ip_address
from pathlib import Path

import sqlalchemy as sa
from flask import Response, current_app, has_request_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from werkzeug.wsgi import ClosingIterator

from ..core.extensions import db
from ..models import AuditEvent, Booking, BookingStatus, CheckIn, MailStatus, OutgoingMail, utcnow

ROUTE_ENVIRON = "busapp.route"  # set by busapp/core/security.py for the access logs
REQUEST_ID_ENVIRON = "busapp.request_id"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The jobs whose last run is a metric: `flask purge`, `flask remind`, `flask backup create` record it.
JOBS = ("purge", "remind", "backup")

# Request counters of this process; with PROMETHEUS_MULTIPROC_DIR set, prometheus_client keeps them in files there.
_LOCAL = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("busapp_http_requests", "HTTP requests answered, by route, method and status.",
                   ["route", "method", "status"], registry=_LOCAL)
LATENCY = Histogram("busapp_http_request_duration_seconds", "Time to answer a request, by route and method.",
                    ["route", "method"], registry=_LOCAL,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

access_log = logging.getLogger("busapp.access")


# --- requests -------------------------------------------------------------------------------------------------


class RequestObserver:
    """The outermost WSGI layer: gives each request its id, and counts, times and (as JSON) logs it when its answer
    has been sent, whether the app or the page cache answered."""

    def __init__(self, app, wsgi_app):
        self.flask = app  # not "app": pagecache.cache_of walks the stack through .app and .wsgi_app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        asked = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = asked if REQUEST_ID.match(asked) else uuid.uuid4().hex
        environ[REQUEST_ID_ENVIRON] = request_id
        answer: dict = {}

        def start(status, headers, exc_info=None):
            answer["status"] = status.split(" ", 1)[0]
            answer["length"] = next((v for k, v in headers if k.lower() == "content-length"), None)
            headers = [*headers, ("X-Request-ID", request_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        def finish():
            self._observe(environ, answer.get("status", "500"), answer.get("length"), time.perf_counter() - started)

        try:
            app_iter = self.wsgi_app(environ, start)
        except BaseException:
            finish()
            raise
        return ClosingIterator(app_iter, [finish])

    def _observe(self, environ, status: str, length, seconds: float) -> None:
        route = self._route(environ)
        method = environ.get("REQUEST_METHOD", "")
        try:
            REQUESTS.labels(route, method, status).inc()
            LATENCY.labels(route, method).observe(seconds)
        except Exception:  # noqa: BLE001 - a full disk for the metrics files must not fail the request
            logging.getLogger(__name__).warning("could not count a request", exc_info=True)
        if self.flask.config.get("LOG_FORMAT") == "json":
            access_log.info("request", extra={"http": {
                "request_id": environ.get(REQUEST_ID_ENVIRON), "method": method, "route": route,
                "status": int(status) if status.isdigit() else status, "duration_ms": round(seconds * 1000, 1),
                "bytes": int(length) if length and str(length).isdigit() else None,
            }})

    def _route(self, environ) -> str:
        """The route's pattern (/t/<token>), never the address; for an answer from the page cache it is looked up."""
        rule = environ.get("busapp.rule")
        if rule:
            return rule
        try:
            found, _ = self.flask.url_map.bind_to_environ(environ).match(return_rule=True)
            return found.rule
        except Exception:  # noqa: BLE001 - no route (404), wrong method, or a redirect: none to name
            return "(no route)"


# --- the database's numbers -----------------------------------------------------------------------------------


class DatabaseCollector:
    """What the database says at this scrape; every node answers the same."""

    def collect(self):
        up = GaugeMetricFamily("busapp_database_up", "1 when the database answered this scrape.")
        try:
            families = list(self._families(utcnow()))
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, now: datetime):
        session = db.session
        bookings = GaugeMetricFamily("busapp_bookings", "Bookings by state (a purge empties names, not rows).",
                                     labels=["status"])
        counted = dict(session.execute(sa.select(Booking.status, sa.func.count()).group_by(Booking.status)).all())
        for status in BookingStatus:
            bookings.add_metric([status.value], counted.get(status, 0))
        yield bookings

        checkins = GaugeMetricFamily("busapp_checkins", "Check-in actions received from tablets, by kind.",
                                     labels=["kind"])
        for kind, n in session.execute(sa.select(CheckIn.kind, sa.func.count()).group_by(CheckIn.kind)).all():
            checkins.add_metric([kind], n)
        yield checkins

        mail = GaugeMetricFamily("busapp_mail_messages", "Messages in the outbox by state (dead: given up).",
                                 labels=["status"])
        counted = dict(session.execute(
            sa.select(OutgoingMail.status, sa.func.count()).group_by(OutgoingMail.status)).all())
        for status in MailStatus:
            mail.add_metric([status.value], counted.get(status, 0))
        yield mail

        oldest = session.scalar(sa.select(sa.func.min(OutgoingMail.next_attempt_at)).where(
            OutgoingMail.status == MailStatus.WAITING, OutgoingMail.next_attempt_at <= now))
        lag = GaugeMetricFamily("busapp_mail_oldest_due_seconds",
                                "How long the oldest message that is due has been waiting for the worker (0: none).")
        lag.add_metric([], max(0.0, (now - _aware(oldest)).total_seconds()) if oldest else 0.0)
        yield lag

        late = session.execute(sa.select(CheckIn.acted_at, CheckIn.received_at).where(
            CheckIn.received_at >= now - timedelta(hours=1)).order_by(CheckIn.received_at.desc()).limit(5000)).all()
        tablet = GaugeMetricFamily("busapp_checkin_sync_lag_seconds",
                                   "Longest time between a check-in on a tablet and its arrival here, last hour.")
        tablet.add_metric([], max((max(0.0, (_aware(r) - _aware(a)).total_seconds()) for a, r in late), default=0.0))
        yield tablet

        jobs = GaugeMetricFamily("busapp_job_last_run_timestamp_seconds",
                                 "When each job last finished (Unix time; absent: never).", labels=["job"])
        for action, at in session.execute(
                sa.select(AuditEvent.action, sa.func.max(AuditEvent.at))
                .where(AuditEvent.action.in_([f"job-{j}" for j in JOBS])).group_by(AuditEvent.action)).all():
            jobs.add_metric([action.removeprefix("job-")], _aware(at).timestamp())
        yield jobs


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def metrics_text() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        requests_part = generate_latest(registry)
    else:
        requests_part = generate_latest(_LOCAL)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return requests_part + generate_latest(database)


def _trusted() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.config["METRICS_NETWORKS"])


# --- readiness ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _revisions(folder: str) -> tuple[frozenset[str], frozenset[str]]:
    """The migrations' heads and every revision they know, read once per process."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(folder)
    return frozenset(scripts.get_heads()), frozenset(s.revision for s in scripts.walk_revisions())


def readiness() -> tuple[dict, int]:
    try:
        tables = set(sa.inspect(db.session.connection()).get_table_names())
        revision = (db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                    if "alembic_version" in tables else None)
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": False}, 503
    heads, known = _revisions(str(Path(current_app.root_path).parent / "migrations"))
    if revision is None:
        return {"status": "no schema", "database": True, "schema": None,
                "hint": "run flask db upgrade"}, 503
    if revision in heads:
        return {"status": "ready", "database": True, "schema": revision}, 200
    if revision in known:
        return {"status": "migrations pending", "database": True, "schema": revision, "code": sorted(heads),
                "hint": "run flask db upgrade"}, 503
    # Newer than this code: a rolling upgrade migrated, and this node is reloaded next.
    return {"status": "ready", "database": True, "schema": revision, "note": "database newer than this code"}, 200


# --- logs -----------------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        http = getattr(record, "http", None)
        if http:
            entry.update({k: v for k, v in http.items() if v is not None})
        else:
            entry["message"] = record.getMessage()
            if has_request_context():
                entry["request_id"] = request.environ.get(REQUEST_ID_ENVIRON)
                entry["route"] = request.environ.get(ROUTE_ENVIRON)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            entry["traceback"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged (gunicorn and test runners replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


_json_handler = _StderrHandler()
_json_handler.setFormatter(JsonFormatter())


def _use_json_logs(app) -> None:
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    if _json_handler not in app.logger.handlers:
        app.logger.addHandler(_json_handler)
    if _json_handler not in access_log.handlers:
        access_log.addHandler(_json_handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


# --- wiring ---------------------------------------------------------------------------------------------------


def init_app(app) -> None:
    """Called last in create_app, so that the request observer wraps everything else."""
    if app.config["LOG_FORMAT"] == "json":
        _use_json_logs(app)

    @app.before_request
    def name_rule():
        rule = request.url_rule
        if rule is not None:
            request.environ["busapp.rule"] = rule.rule

    @app.get("/readyz")
    def readyz():
        """Whether this node can serve: database reachable, schema not older than the code."""
        body, status = readiness()
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"
        if status == 503:
            response.headers["Retry-After"] = "10"
        return response, status

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics, for the town's monitoring only."""
        if not _trusted():
            return Response("Not Found\n", 404, mimetype="text/plain")
        return Response(metrics_text(), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    app.wsgi_app = RequestObserver(app, app.wsgi_app)
