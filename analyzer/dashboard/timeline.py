"""The Overview's time series: per-day sums from the per-thread statistics, bucketed to a
readable number of points, and the trend figure (this period against the one before)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

MAX_POINTS = 120


def bucket_for(first: date, last: date, max_points: int = MAX_POINTS) -> str:
    """The finest of day/week/month/year giving at most ``max_points`` points."""
    days = (last - first).days + 1
    if days <= max_points:
        return "day"
    if days / 7 <= max_points:
        return "week"
    if days / 30.4 <= max_points:
        return "month"
    return "year"


def bucket_start(d: date, bucket: str) -> date:
    if bucket == "day":
        return d
    if bucket == "week":
        return d - timedelta(days=d.weekday())
    if bucket == "month":
        return d.replace(day=1)
    if bucket == "year":
        return d.replace(month=1, day=1)
    raise ValueError(f"unknown bucket {bucket!r}")


def bucketed(daily: Sequence[Mapping[str, Any]], bucket: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Sum per-day rows (day, threads, comments, scored, toxic) into buckets, adding the
    toxic share of scored comments; returns (bucket name, rows oldest first)."""
    if not daily:
        return bucket or "day", []
    days = sorted(r["day"] for r in daily)
    bucket = bucket or bucket_for(days[0], days[-1])
    sums: dict[date, list[int]] = {}
    for r in daily:
        s = sums.setdefault(bucket_start(r["day"], bucket), [0, 0, 0, 0])
        s[0] += int(r.get("threads", 0))
        s[1] += int(r.get("comments", 0))
        s[2] += int(r.get("scored", 0))
        s[3] += int(r.get("toxic", 0))
    rows = [
        {
            "start": k,
            "threads": v[0],
            "comments": v[1],
            "scored": v[2],
            "toxic": v[3],
            "toxic_share": (v[3] / v[2]) if v[2] else None,
        }
        for k, v in sorted(sums.items())
    ]
    return bucket, rows


def trend(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """Toxic share of the latest bucket with scored comments minus that of the one before
    it (None without two such buckets): > 0 means getting worse."""
    shares = [r["toxic_share"] for r in rows if r.get("toxic_share") is not None]
    if len(shares) < 2:
        return None
    return float(shares[-1] - shares[-2])
