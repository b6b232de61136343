"""Staff and coordinator accounts: sign-in with an optional second factor, sign-out, role checks, `flask users`."""
from __future__ import annotations

from .auth import bp, role_required  # noqa: F401


def init_app(app) -> None:
    from . import auth
    from .commands import users

    auth.init_app(app)
    app.cli.add_command(users)
