"""Store-wide figures for the dashboard's Overview, read from ``thread_stats`` only.

A store of a million comments holds a few thousand threads; summing their per-thread
statistics is cheap, re-aggregating the comments is not, so nothing here reads
``comments`` or ``scores``. Filters are those of ``queries.thread_filters``; with
``scores="alone"`` toxic counts are the context-free ones (``queries.stat_columns``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from analyzer.store import schema as t
from analyzer.store.queries import stat_columns, thread_filters


def _joined() -> Any:
    return t.thread_stats.join(t.threads, t.threads.c.id == t.thread_stats.c.thread_id)


def totals(conn: Connection, **filters: Any) -> dict[str, Any]:
    """Threads, comments, scored and toxic comments, and the time span, over the matching threads."""
    s = t.thread_stats.c
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(s.comments), 0),
            func.coalesce(func.sum(s.scored), 0),
            func.coalesce(func.sum(stat_columns(filters.get("scores") or "context")["toxic"]), 0),
            func.min(s.first_at),
            func.max(s.last_at),
        )
        .select_from(_joined())
        .where(*thread_filters(**filters))
    ).one()
    threads, comments, scored, toxic, first, last = row
    return {
        "threads": int(threads),
        "comments": int(comments),
        "scored": int(scored),
        "toxic": int(toxic),
        "toxic_share": (int(toxic) / int(scored)) if scored else None,
        "first_at": first,
        "last_at": last,
    }


def daily(conn: Connection, **filters: Any) -> list[dict[str, Any]]:
    """Per day a thread started (its first comment's time): threads, comments, scored and
    toxic comments, oldest first. Threads without times are left out."""
    s = t.thread_stats.c
    day = func.date(s.first_at)
    query = (
        select(
            day.label("day"),
            func.count().label("threads"),
            func.sum(s.comments).label("comments"),
            func.sum(s.scored).label("scored"),
            func.sum(stat_columns(filters.get("scores") or "context")["toxic"]).label("toxic"),
        )
        .select_from(_joined())
        .where(s.first_at.is_not(None), *thread_filters(**filters))
        .group_by(day)
        .order_by(day)
    )
    out = []
    for r in conn.execute(query):
        d = r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day)[:10])
        out.append(
            {
                "day": d,
                "threads": int(r.threads),
                "comments": int(r.comments or 0),
                "scored": int(r.scored or 0),
                "toxic": int(r.toxic or 0),
            }
        )
    return out


def facets(conn: Connection) -> dict[str, list[str]]:
    """The distinct formats, sources and top labels, for the Overview's filter choices."""
    th, s = t.threads.c, t.thread_stats.c
    out: dict[str, list[str]] = {}
    for name, column in (("format", th.format), ("source", th.source), ("top_label", s.top_label)):
        query = select(column).select_from(_joined()).where(column.is_not(None)).distinct().order_by(column)
        out[name] = [str(v) for v in conn.execute(query).scalars()]
    return out


def thread_updated_at(conn: Connection, thread_id: str) -> datetime | None:
    """When the thread last changed (None if unknown): the dashboard's cache key for it."""
    return conn.execute(select(t.threads.c.updated_at).where(t.threads.c.id == thread_id)).scalar()
