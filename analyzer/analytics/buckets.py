"""Calendar time buckets (hour, day, week, month, year): the one home of "which bucket holds
this time, and which comes next or before", used by ``analytics.over_time`` (datetimes)
and the dashboard's Overview timeline (dates).

Weeks start on Monday; months and years on their first day. ``hour`` needs a datetime.
Pure functions, no time zones: callers hand in naive UTC times or plain dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypeVar

BUCKETS: tuple[str, ...] = ("hour", "day", "week", "month", "year")  # finest first

When = TypeVar("When", date, datetime)


def _check(t: date, bucket: str) -> None:
    if bucket not in BUCKETS or (bucket == "hour" and not isinstance(t, datetime)):
        raise ValueError(f"unknown bucket {bucket!r}")


def bucket_start(t: When, bucket: str) -> When:
    """The start of the bucket holding ``t``."""
    _check(t, bucket)
    if bucket == "hour":
        return t.replace(minute=0, second=0, microsecond=0)  # type: ignore[call-arg]  # a datetime (_check)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0) if isinstance(t, datetime) else t
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_start(start: When, bucket: str) -> When:
    """The start of the bucket after the one starting at ``start``."""
    _check(start, bucket)
    if bucket == "hour":
        return start + timedelta(hours=1)
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    if bucket == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def previous_start(start: When, bucket: str) -> When:
    """The start of the bucket just before the one starting at ``start`` (same length)."""
    _check(start, bucket)
    if bucket == "hour":
        return start - timedelta(hours=1)
    if bucket == "day":
        return start - timedelta(days=1)
    if bucket == "week":
        return start - timedelta(days=7)
    if bucket == "month":
        return (start.replace(day=1) - timedelta(days=1)).replace(day=1)
    return start.replace(year=start.year - 1, month=1, day=1)


def count_buckets(first: When, last: When, bucket: str) -> int:
    """How many buckets from the one starting at ``first`` to the one starting at ``last``, both included."""
    _check(first, bucket)
    span = last - first
    if bucket == "hour":
        return int(span / timedelta(hours=1)) + 1
    if bucket == "day":
        return span.days + 1
    if bucket == "week":
        return span.days // 7 + 1
    if bucket == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1
