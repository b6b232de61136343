"""Mail texts: every message people get is a template in templates/mail/<name>.txt, rendered in the person's
language (the booking's). The template's first line is the subject, the rest after a blank line the body; the
facts (titles in that language, dates, links) come from the caller, the sentences from the template."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from jinja2 import Environment


def _environment() -> Environment:
    # The app's templates, loader, filters and gettext, with block tags that leave no blank lines in plain text.
    env = current_app.extensions.get("mail_texts")
    if env is None:
        env = current_app.jinja_env.overlay(trim_blocks=True, lstrip_blocks=True, autoescape=False)
        current_app.extensions["mail_texts"] = env
    return env


def render(template: str, locale: str, **context) -> tuple[str, str]:
    """(subject, body) of templates/mail/<template>.txt in `locale`."""
    with force_locale(locale):
        text = _environment().get_template(f"mail/{template}.txt").render(**context)
    subject, _blank, body = text.strip("\n").partition("\n\n")
    return " ".join(subject.split()), body.strip("\n") + "\n"
