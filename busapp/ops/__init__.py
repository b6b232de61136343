"""Running the app on a town's servers: backups (`flask backup`) and monitoring (/readyz, /metrics, JSON logs)."""
from __future__ import annotations


def init_app(app) -> None:
    from . import monitoring
    from .backup import backup

    app.cli.add_command(backup)
    monitoring.init_app(app)  # last: its request observer wraps everything, the page cache included
