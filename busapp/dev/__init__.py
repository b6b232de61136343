"""Demo data and development helpers: the demo tour (`flask seed-demo`), never part of how the app answers people."""
from __future__ import annotations


def init_app(app) -> None:
    from .commands import seed_demo

    app.cli.add_command(seed_demo)
