"""Digitalwerkstatt-Bus: the touring digital workshop bus's public schedule, booking, feedback and staff tools."""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from .core import config
from .core.extensions import csrf, db, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, CLI and response hooks."""
    app = Flask(
        __name__,
        # Where the app keeps its own files (the SQLite database, development keys): instance/ in the checkout, or
        # INSTANCE_PATH, which the systemd units set to their state folder, /var/lib/digitalbus.
        instance_path=os.environ.get("INSTANCE_PATH", "").strip() or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_mapping(config.load(app.instance_path, test_config))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(app.root_path, "..", "translations"))
    from .core import pagecache

    # Inside ProxyFix (its key needs the visitor's scheme and host), and its hook first so that it runs last.
    pagecache.init_app(app)
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    os.makedirs(app.instance_path, exist_ok=True)
    _queue_sqlite_writers(app.config, app.instance_path)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    with app.app_context():
        _tune_sqlite()

    # The infrastructure every feature stands on (busapp/core/), then the features, each a package registered the
    # same way: its init_app adds its blueprint and its commands.
    from .core import assets, choices, content, errors, faults, htmx, i18n, security, townprofile, translations

    for part in (i18n, townprofile, errors, faults, htmx, security, assets, choices, content, translations):
        part.init_app(app)

    from . import (
        accounts, booking, checkin, dev, feedback, mail, opendata, pages, participation, planning, pwa, schedule,
    )

    for feature in (accounts, schedule, booking, feedback, pwa, pages, mail, checkin, planning, participation,
                    opendata, dev):
        feature.init_app(app)

    from .core import forms
    from .domain import live, party

    # Templates take the shared rules' values from here (and hand them on to scripts as data- attributes),
    # never retyping them.
    app.jinja_env.globals.update(PARTY_SIZES=party.PARTY_SIZES, MAX_PARTY=party.MAX_PARTY,
                                 MIN_MINUTES_LATE=live.MIN_MINUTES_LATE,
                                 MAX_MINUTES_LATE=live.MAX_MINUTES_LATE, may_be_left_empty=forms.may_be_left_empty)

    @app.get("/healthz")
    def healthz():
        """Liveness and database check for the load balancer."""
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            faults.reset_session()
            response = jsonify(status="unavailable", database=False)
            response.headers["Retry-After"] = str(faults.RETRY_AFTER_SECONDS)
            return response, 503
        return jsonify(status="ok", database=True)

    from . import ops

    ops.init_app(app)  # last: its request observer wraps everything, the page cache included
    return app


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _queue_sqlite_writers(config, instance_path: str) -> None:
    """A database file's writers wait in line for each other (busapp/core/sqlitequeue.py), and its connections are
    not pinged before use."""
    url = sa.engine.make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.database.startswith("file:"):
        return
    from .core import sqlitequeue

    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # A database file has no server that could drop the connection: no "SELECT 1" before every request's statements.
    options["pool_pre_ping"] = False
    connect_args = dict(options.get("connect_args") or {})
    # A relative file is in the instance folder (as Flask-SQLAlchemy reads it); os.path.join keeps an absolute one.
    connect_args.setdefault("factory", sqlitequeue.connection_class(
        os.path.join(instance_path, url.database), int(config.get("SQLITE_BUSY_TIMEOUT_MS", 30000)) / 1000))
    options["connect_args"] = connect_args
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _tune_sqlite() -> None:
    """WAL and a busy timeout let concurrent requests wait for the write lock instead of failing."""
    from flask import current_app

    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    config = current_app.config

    if (config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).get("connect_args", {}).get("factory"):
        from .core import sqlitequeue

        sqlitequeue.install(engine)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # SQLite's own lower() folds only A-Z; PostgreSQL's folds every letter. The same answer on both databases
        # (a search for "öztürk" finds "ÖZTÜRK"): lower() as Python does it.
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        # How long a statement waits for another connection's lock before "database is locked" (tests shorten it).
        cur.execute(f"PRAGMA busy_timeout={int(config.get('SQLITE_BUSY_TIMEOUT_MS', 30000))}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
