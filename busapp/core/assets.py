"""Content-versioned static URLs: a file's URL changes when its bytes do, so it can be cached for a year."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_request_context, request, url_for

LONG_CACHE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version(filename: str) -> str:
    """The content hash of a file under static/."""
    path = Path(current_app.static_folder) / filename
    return _digest(str(path), path.stat().st_mtime_ns)


def static_url(filename: str) -> str:
    """URL of a static file with its content hash, for templates: {{ static_url('css/app.css') }}."""
    if current_app.config.get("APP_ENV") != "production" or not has_request_context():
        # Files are edited under a running development server: look at them each time.
        return url_for("static", filename=filename, v=version(filename))
    # In production the files do not change while the process runs (a release restarts it), and every page names
    # a dozen of them: each URL is worked out once.
    urls = current_app.extensions.setdefault("busapp.static_urls", {})
    key = (request.script_root, filename)
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for("static", filename=filename, v=version(filename))
    return url


def static_files() -> list[str]:
    """Every file under static/ (relative paths), for the service worker's precache list."""
    root = Path(current_app.static_folder)
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name not in {"LICENSE"} and not p.name.startswith(".")
    )


def init_app(app) -> None:
    app.jinja_env.globals["static_url"] = static_url

    @app.after_request
    def cache_static(response):
        if request.endpoint == "static" and response.status_code == 200:
            asked = request.args.get("v")
            filename = (request.view_args or {}).get("filename", "")
            if asked and filename and asked == version(filename):
                response.headers["Cache-Control"] = LONG_CACHE
            else:
                response.headers["Cache-Control"] = "no-cache"
        return response
