"""App factory, configuration, health check and the response hooks every page shares."""
import pytest

from busapp import create_app
from busapp.core.config import ConfigError


def test_production_without_secret_key_refuses_to_start(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"APP_ENV": "production"})


def test_production_with_short_secret_key_refuses_to_start(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        create_app({"APP_ENV": "production"})


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": True}


def test_healthz_reports_unreachable_database(tmp_path):
    app = create_app({"APP_ENV": "testing",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] is False


def test_german_is_default_and_english_on_request(client):
    assert 'lang="de"' in client.get("/").get_data(as_text=True)
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="en"' in html and "Tour schedule" in html


def test_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/").headers.get("Vary", "")


def test_versioned_static_files_are_cached_long(app, client):
    from busapp.core.assets import static_url

    with app.test_request_context():
        url = static_url("css/app.css")
    assert "?v=" in url
    with client.get(url) as response:
        assert "immutable" in response.headers["Cache-Control"]
    with client.get("/static/css/app.css") as response:
        assert response.headers["Cache-Control"] == "no-cache"
