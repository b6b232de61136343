"""`flask mail send`: the mail worker. Run it beside the app (`make run` does; production runs it as a second
process, see the README):  flask --app app mail send --loop
"""
from __future__ import annotations

import signal
import time

import click
from flask import current_app
from flask.cli import AppGroup

from . import service, smtp

mail = AppGroup("mail", help="The outgoing mail queue.")


@mail.command("send")
@click.option("--loop", "mode", flag_value="loop", help="Keep sending until stopped (Ctrl+C or SIGTERM).")
@click.option("--once", "mode", flag_value="once", default=True, help="Send what is due now, then stop (default).")
def send(mode: str) -> None:
    """Send the messages that are due: once, or again and again every MAIL_POLL_SECONDS."""
    if not smtp.enabled():
        click.echo("MAIL_SERVER is not set: messages are queued and wait until a mail server is set up.")
        if mode == "once":
            return
    if mode == "once":
        result = service.send_due()
        click.echo(f"sent {result.sent}, to try again later {result.waiting}, given up {result.dead}")
        return
    stopping = []

    def stop(_signum, _frame):
        stopping.append(True)  # finish the message on its way, then leave

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = current_app.config["MAIL_POLL_SECONDS"]
    click.echo(f"Mail worker started; looking for due messages every {pause} s.")
    while not stopping:
        try:
            result = service.send_due()
        except Exception:  # noqa: BLE001 - a database hiccup must not end the worker; the next pass tries again
            current_app.logger.exception("mail worker pass failed")
            service.db.session.rollback()
            result = service.Round()
        if result.handled:
            click.echo(f"sent {result.sent}, to try again later {result.waiting}, given up {result.dead}")
            continue  # more may be due at once
        for _ in range(int(pause * 10)):
            if stopping:
                break
            time.sleep(0.1)
    click.echo("Mail worker stopped.")
