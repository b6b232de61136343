"""`flask seed-demo`: the demo tour and demo accounts, for trying the app and for measuring it."""
from __future__ import annotations

import click
from flask import current_app


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only load when there is no tour yet.")
@click.option("--force", is_flag=True, help="Allow in production (replaces the whole tour).")
@click.option("--stops", type=click.IntRange(min=1), default=None,
              help="Instead of the six-week tour, a synthetic one of this many stops over past and future years "
                   "(for measuring: bench/README.md).")
def seed_demo(if_empty: bool, force: bool, stops: int | None) -> None:
    """Load the town profile's demo tour (its districts, six weeks of stops) and the demo accounts."""
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
