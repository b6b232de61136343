"""The town's clock: every "today", "midnight" and wall-clock time is in the TIMEZONE setting (the town profile's
time zone, e.g. Europe/Berlin). Stored times are UTC; this is the one place that turns them into the town's days."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The town's time zone (the TIMEZONE setting)."""
    return _zone(current_app.config["TIMEZONE"])


def local(value: datetime) -> datetime:
    """A stored (UTC) time as the town's wall-clock time; naive values count as UTC, as in flask-babel."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone())


def day_of(value: datetime) -> date:
    """The calendar day in the town, which is what people mean by "Friday"."""
    return local(value).date()


def midnight(day: date) -> datetime:
    """The start of a day in the town, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=zone())


def day_start(at: datetime) -> datetime:
    """Midnight in the town of the day `at` falls on."""
    return midnight(day_of(at))


def day_end(at: datetime) -> datetime:
    """Midnight after `at` in the town (the start of the next day)."""
    return midnight(day_of(at) + timedelta(days=1))


def today() -> date:
    """Today's date in the town."""
    return datetime.now(zone()).date()
