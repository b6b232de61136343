"""Flask commands: demo data, accounts, translations."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup

from .auth import normalize_email, password_problem
from .extensions import db
from .models import Role, User, audit

ROOT = Path(__file__).resolve().parent.parent
users = AppGroup("users", help="Staff and coordinator accounts.")
translate = AppGroup("translate", help="Translation catalogues (wraps pybabel).")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only load when there is no tour yet.")
@click.option("--force", is_flag=True, help="Allow in production (replaces the whole tour).")
@click.option("--stops", type=click.IntRange(min=1), default=None,
              help="Instead of the six-week tour, a synthetic one of this many stops over past and future years "
                   "(for measuring: bench/README.md).")
def seed_demo(if_empty: bool, force: bool, stops: int | None) -> None:
    """Load the Lübeck demo tour (ten districts, six weeks of stops) and the demo accounts."""
    from . import demo

    if current_app.config["APP_ENV"] == "production" and not force:
        raise click.ClickException("refusing to load demo data in production; add --force if you really mean it")
    if if_empty and not demo.is_empty():
        click.echo("The database already has a tour; demo data not loaded.")
        return
    if stops:
        counts = demo.load_large(stops, with_users=current_app.config["DEMO_ACCOUNTS"])
    else:
        counts = demo.load(with_users=current_app.config["DEMO_ACCOUNTS"])
    click.echo(f"Loaded {counts['districts']} districts, {counts['stops']} stops, {counts['workshops']} workshops.")
    if current_app.config["DEMO_ACCOUNTS"]:
        for email, role, password in demo.DEMO_USERS:
            click.echo(f"Demo sign-in ({role}): {email} / {password}")


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


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


@translate.command("extract")
def translate_extract() -> None:
    """Collect translatable strings into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--sort-by-file", "--no-wrap",
             "-o", "translations/messages.pot", ".")


@translate.command("update")
def translate_update() -> None:
    """Extract, then merge new strings into every language's catalogue."""
    translate_extract.callback()
    _pybabel("update", "-i", "translations/messages.pot", "-d", "translations", "--no-wrap", "--no-fuzzy-matching")


@translate.command("init")
@click.argument("lang")
def translate_init(lang: str) -> None:
    """Start a catalogue for a new language."""
    translate_extract.callback()
    _pybabel("init", "-i", "translations/messages.pot", "-d", "translations", "-l", lang, "--no-wrap")


@translate.command("missing")
@click.argument("langs", nargs=-1)
def translate_missing(langs: tuple[str, ...]) -> None:
    """List the messages each language still has to translate (all configured languages when none is named)."""
    from flask import current_app

    from .catalogues import SOURCE_LANGUAGE, missing

    tags = langs or [t for t in current_app.config["LANGUAGES"] if t != SOURCE_LANGUAGE]
    total = 0
    for tag in tags:
        messages = missing(tag)
        total += len(messages)
        click.echo(f"# {tag}: {len(messages)} missing")
        for message in messages:
            ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
            click.echo("  " + " | ".join(ids))
    raise SystemExit(1 if total else 0)


@translate.command("compile")
def translate_compile() -> None:
    """Compile catalogues for the running app."""
    _pybabel("compile", "-d", "translations", "--statistics")


def init_app(app) -> None:
    from .backup import backup
    from .booking.commands import purge, remind
    from .planning.transfer import tour_cli
    from .mail.commands import mail

    app.cli.add_command(seed_demo)
    app.cli.add_command(users)
    app.cli.add_command(translate)
    app.cli.add_command(purge)
    app.cli.add_command(remind)
    app.cli.add_command(tour_cli)
    app.cli.add_command(mail)
    app.cli.add_command(backup)
