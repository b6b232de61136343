"""Installable offline app: web app manifest, service worker, offline page.

The service worker (/sw.js) is a template, so it can carry the list of static files to precache and a release
version that changes whenever any static file, the worker itself or the offline page changes; a new version makes
the browser install the new worker, which then deletes the caches of the old one.

Retiring the worker: if a release of the worker goes wrong, set SW_KILL_SWITCH=1 in the environment and restart.
/sw.js then becomes a worker that deletes this app's caches and unregisters itself, and pages stop registering it.
The outbox in IndexedDB is kept, so nothing a visitor queued is lost: the pages send it on their own.
SW_RELEASE (any text) forces a new worker version without changing files, e.g. to make every phone reload its copy.
"""
from flask import Blueprint

bp = Blueprint("pwa", __name__)

# Imported after `bp` exists: the modules attach their routes, settings and commands to it.
from . import art, views  # noqa: E402,F401


def init_app(app) -> None:
    app.register_blueprint(bp)
