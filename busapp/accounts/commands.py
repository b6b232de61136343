"""`flask users ...`: staff and coordinator accounts from the command line (provisioning, a lost password)."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from ..core.extensions import db
from ..models import Role, User, audit
from .auth import normalize_email, password_problem

users = AppGroup("users", help="Staff and coordinator accounts.")


def _read_password() -> str:
    """Ask twice on a terminal; read one line from standard input when it is piped (scripts, provisioning)."""
    if _interactive():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _new_password() -> str:
    password = _read_password()
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    return password


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise click.ClickException(f"no account for {email}")
    return user


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
def users_create(email: str, role: str) -> None:
    """Create an account; the password is asked for, or read from standard input when piped."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from exc
    email = normalize_email(email)
    if db.session.scalar(sa.select(User).where(User.email == email)):
        raise click.ClickException(f"an account for {email} exists already")
    password = _new_password()
    user = User(email=email, role=Role(role))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit("user-create", user, role=role)
    db.session.commit()
    click.echo(f"Created {role} account {email}.")


@users.command("list")
def users_list() -> None:
    """List accounts with role and state."""
    accounts = db.session.scalars(sa.select(User).order_by(User.email)).all()
    if not accounts:
        click.echo("No accounts yet. Create one with: flask users create EMAIL --role staff|coordinator")
    for user in accounts:
        state = "active" if user.active else "disabled"
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        click.echo(f"{user.email}\t{user.role.value}\t{state}\tlast sign-in: {last}")


@users.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable an account: it can no longer sign in, and its open sign-ins end at their next request."""
    click.echo(f"Disabled {_set_active(email, False).email}.")


@users.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Allow a disabled account to sign in again."""
    click.echo(f"Enabled {_set_active(email, True).email}.")


def _set_active(email: str, active: bool) -> User:
    user = _user(email)
    user.active = active
    if not active:
        user.end_sessions()
    audit("user-enable" if active else "user-disable", user)
    db.session.commit()
    return user


@users.command("set-password")
@click.argument("email")
def users_set_password(email: str) -> None:
    """Give an account a new password (asked for, or read from standard input); its open sign-ins end."""
    user = _user(email)
    user.set_password(_new_password())
    user.end_sessions()
    audit("user-password", user)
    db.session.commit()
    click.echo(f"New password set for {user.email}.")


@users.command("reset-code")
@click.argument("email")
def users_reset_code(email: str) -> None:
    """Forget an account's authenticator key (a lost phone): it sets up a new one at its next sign-in."""
    user = _user(email)
    user.totp_secret = None
    user.totp_last_step = None
    user.end_sessions()
    audit("totp-reset", user)
    db.session.commit()
    click.echo(f"{user.email} sets up a new authenticator app at the next sign-in.")
