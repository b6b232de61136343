"""Static file URLs in production: the same content-hashed URLs, worked out once per process."""
from __future__ import annotations

import pytest

from busapp.core import assets
from busapp import create_app
from busapp.core.extensions import db
from tests.conftest import _driver


@pytest.fixture
def production(monkeypatch, _schema, database_url):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost")
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_production_urls_are_the_hashed_ones_and_worked_out_once(production, monkeypatch):
    real = assets.version
    with production.test_request_context("/"):
        first = assets.static_url("css/app.css")
        assert first == f"/static/css/app.css?v={real('css/app.css')}"
        monkeypatch.setattr(assets, "version", lambda filename: pytest.fail("hashed again"))
        assert assets.static_url("css/app.css") == first
    # Under a path prefix the URL is a different one.
    monkeypatch.setattr(assets, "version", real)
    with production.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/bus"}):
        assert assets.static_url("css/app.css") == "/bus" + first


def test_development_looks_at_the_files_each_time(app, monkeypatch):
    calls = []
    real = assets.version
    monkeypatch.setattr(assets, "version", lambda filename: calls.append(filename) or real(filename))
    with app.test_request_context("/"):
        assert assets.static_url("css/app.css") == assets.static_url("css/app.css")
    assert calls == ["css/app.css", "css/app.css"]
