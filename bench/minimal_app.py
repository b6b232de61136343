"""The yardstick: a minimal Flask app that returns one fixed page, served by the same gunicorn as the real app.

Its throughput is what Flask, Werkzeug and gunicorn can do on this machine with no templates, no database and no
session; the benchmark reports the real pages as a ratio of it.
"""
from flask import Flask

PAGE = (
    "<!doctype html>\n<html lang=\"de\"><head><meta charset=\"utf-8\"><title>Fahrplan</title></head>"
    "<body><main><h1>Fahrplan</h1><p>Der Digitalwerkstatt-Bus kommt in Ihren Stadtteil.</p></main></body></html>\n"
)

app = Flask(__name__)


@app.get("/")
def index():
    """The fixed page."""
    return PAGE
