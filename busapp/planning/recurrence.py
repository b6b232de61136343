"""The dates of a repeat rule (an iCalendar RRULE such as FREQ=WEEKLY;INTERVAL=2) between two days, found with work
bounded by the length of that window.

A rule is read by dateutil, but not walked by it from its start: dateutil looks for the next date period by period
and only stops at UNTIL when it finds a date, so a rule that matches nothing any more
(FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) is walked to the year 9999, which takes most of a minute. Here only the periods
(days, weeks, months, years) that touch the window are looked at: a yearly or monthly period is asked of dateutil on
its own (with an interval so large that the next period lies after the year 9999, where dateutil stops at once); the
days of a weekly or daily rule are the days of each calendar year that pass the rule's filters, asked of dateutil
the same way, and then kept by the rule's interval and BYSETPOS. A rule with COUNT is walked from its start, so its
start may lie at most MAX_COUNT_YEARS back.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr, weekday

MAX_COUNT_YEARS = 30
_FAR = 20000  # an interval that puts the next period after the year 9999: dateutil stops there at once
_ALL_DAYS = tuple(range(7))


class RuleError(ValueError):
    """The text is not a rule this import can use; `reason` is one of "syntax", "frequency", "count"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse(text: str, first: date) -> rrule:
    """The rule in `text` (with or without an "RRULE:" prefix) starting on `first`; raises RuleError."""
    text = text.strip().rstrip(";")
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    try:
        rule = rrulestr(text.upper(), dtstart=datetime.combine(first, time(12)))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise RuleError("syntax") from exc
    if not isinstance(rule, rrule):
        raise RuleError("syntax")
    if rule._freq not in (YEARLY, MONTHLY, WEEKLY, DAILY):
        raise RuleError("frequency")
    return rule


def _weekdays(rule: rrule, with_nth: bool) -> list[weekday] | None:
    days = [weekday(d) for d in (rule._byweekday or ())]
    if with_nth:
        days += [weekday(d, n) for d, n in (rule._bynweekday or ())]
    return days or None


def _monthdays(rule: rrule) -> list[int] | None:
    days = list(rule._bymonthday or ()) + list(rule._bynmonthday or ())
    return days or None


def _period_rule(rule: rrule, start: datetime) -> rrule:
    """One period of a yearly or monthly rule, beginning at `start`."""
    return rrule(rule._freq, dtstart=start, interval=_FAR * (12 if rule._freq == MONTHLY else 1), wkst=rule._wkst,
                 bysetpos=rule._bysetpos, bymonth=rule._bymonth, bymonthday=_monthdays(rule),
                 byyearday=rule._byyearday, byweekno=rule._byweekno, byweekday=_weekdays(rule, True),
                 byeaster=rule._byeaster, byhour=0, byminute=0, bysecond=0, cache=False)


def _filtered_days(rule: rrule, year: int) -> set[date]:
    """The days of a calendar year that pass a daily or weekly rule's filters (all but interval and BYSETPOS)."""
    weekdays = _weekdays(rule, False)
    monthdays = _monthdays(rule)
    if not (weekdays or monthdays or rule._byyearday or rule._byweekno or rule._byeaster is not None):
        weekdays = [weekday(d) for d in _ALL_DAYS]
    found = rrule(YEARLY, dtstart=datetime(year, 1, 1), interval=_FAR, wkst=rule._wkst, bymonth=rule._bymonth,
                  bymonthday=monthdays, byyearday=rule._byyearday, byweekno=rule._byweekno, byweekday=weekdays,
                  byeaster=rule._byeaster, byhour=0, byminute=0, bysecond=0, cache=False)
    return {d.date() for d in found}


def _pick(days: list[date], positions) -> list[date]:
    if not positions:
        return days
    picked = []
    for pos in positions:
        index = pos - 1 if pos > 0 else len(days) + pos
        if 0 <= index < len(days):
            picked.append(days[index])
    return sorted(set(picked))


def _period_days(rule: rrule, lo: date, hi: date) -> list[date]:
    """Every date of the rule in the periods that touch [lo, hi], in order (not yet cut to the window)."""
    first = rule._dtstart.date()
    freq, interval = rule._freq, rule._interval
    out: list[date] = []
    if freq in (YEARLY, MONTHLY):
        if freq == YEARLY:
            periods = [(y, 1) for y in range(lo.year, hi.year + 1) if (y - first.year) % interval == 0]
        else:
            index0 = first.year * 12 + first.month - 1
            periods = [(i // 12, i % 12 + 1) for i in range(lo.year * 12 + lo.month - 1, hi.year * 12 + hi.month)
                       if (i - index0) % interval == 0]
        for y, m in periods:
            out.extend(d.date() for d in _period_rule(rule, datetime(y, m, 1)))
        return out
    if freq == WEEKLY:
        def week_of(d: date) -> date:
            return d - timedelta(days=(d.weekday() - rule._wkst) % 7)
        lo, hi = week_of(lo), week_of(hi) + timedelta(days=6)
    allowed: set[date] = set()
    for year in range(lo.year, hi.year + 1):
        allowed |= _filtered_days(rule, year)
    if freq == WEEKLY:
        origin = week_of(first)
        week = lo
        while week <= hi:
            if ((week - origin).days // 7) % interval == 0:
                # dateutil's first week begins on the rule's start day, not on the week's first day
                days = sorted(d for d in (week + timedelta(days=i) for i in range(7)) if d in allowed and d >= first)
                out.extend(_pick(days, rule._bysetpos))
            week += timedelta(days=7)
        return out
    day = lo
    while day <= hi:  # DAILY: every period is one day
        if (day - first).days % interval == 0 and day in allowed and _pick([day], rule._bysetpos):
            out.append(day)
        day += timedelta(days=1)
    return out


def dates(rule: rrule, start: date, end: date) -> list[date]:
    """The rule's dates from `start` to `end` (both included), never before the rule's own start nor after UNTIL."""
    first = rule._dtstart.date()
    if rule._until is not None:
        end = min(end, rule._until.date())
    if rule._count:
        if (end - first).days > MAX_COUNT_YEARS * 366:
            raise RuleError("count")
        walked = [d for d in _period_days(rule, first, end) if d >= first][:rule._count]
        return [d for d in walked if start <= d <= end]
    start = max(start, first)
    if start > end:
        return []
    return [d for d in _period_days(rule, start, end) if start <= d <= end]
