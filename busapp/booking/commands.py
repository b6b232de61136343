"""`flask purge`: delete the personal data of bookings some days after their workshop.

Run it daily, for example with a systemd timer or cron:  APP_ENV=production flask --app app purge
"""
from __future__ import annotations

import click
from flask import current_app

from ..mail import service as outbox
from ..participation import service as mitreden
from ..models import record_job
from . import service


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@click.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Days after the workshop (default: PURGE_AFTER_DAYS - BACKUP_KEEP_DAYS, 30 unless configured).")
def purge(days: int | None) -> None:
    """Empty names, contacts and notes of bookings whose workshop ended more than PURGE_AFTER_DAYS ago, delete
    mails sent more than MAIL_KEEP_DAYS ago, and what could point to a person in Mitreden consultations that ended
    more than MITREDEN_KEEP_DAYS ago. With backups kept BACKUP_KEEP_DAYS, it purges that many days earlier,
    so that no backup holds the data past PURGE_AFTER_DAYS either."""
    if days is None:
        days = current_app.config["PURGE_AFTER_DAYS"] - current_app.config.get("BACKUP_KEEP_DAYS", 0)
    bookings, workshops, cutoff = service.purge(days=days)
    when = cutoff.isoformat(timespec="minutes")
    if bookings:
        click.echo(f"Deleted names, contacts and notes of {_count(bookings, 'booking')} in "
                   f"{_count(workshops, 'workshop')} that ended before {when} (UTC, {days} days ago). "
                   "Counts are kept.")
    else:
        click.echo(f"Nothing to delete: no personal data left in bookings of workshops that ended before {when} "
                   f"(UTC, {days} days ago).")
    mails = outbox.purge()
    if mails:
        click.echo(f"Deleted {_count(mails, 'sent or purged mail')} from the outbox.")
    said = mitreden.purge()
    if said.consultations:
        click.echo(f"Mitreden: deleted {_count(said.ideas, 'unpublished idea')} and the device marks of "
                   f"{_count(said.supports, 'support')} in {_count(said.consultations, 'consultation')} that ended "
                   f"more than {current_app.config['MITREDEN_KEEP_DAYS']} days ago.")
    record_job("purge", bookings=bookings, mails=mails, days=days, mitreden_ideas=said.ideas)


@click.command("remind")
def remind() -> None:
    """Queue the reminder mail for tomorrow's workshops (run it every hour; each booking is reminded once)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost"
    # Mails carry links to tickets: build them on the public address, as a request to it would.
    with current_app.test_request_context(base_url=base):
        queued = service.remind()
    record_job("remind", queued=queued)
    click.echo(f"Queued {_count(queued, 'reminder')}.")
