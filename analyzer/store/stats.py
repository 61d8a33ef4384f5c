"""Per-thread statistics rows (``thread_stats``), written by every import and recomputed on
open when older than ``thread_stats.STATS_VERSION``: the numbers of ``thread_stats.summary``,
measured by in-context scores where a context model scored the thread (``context`` true,
the context-free risk, toxic count, share and maximum beside them in the ``*_alone`` columns).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import Connection, delete, insert, select

from analyzer.scored_thread import ScoredThread
from analyzer.store import schema as t
from analyzer.thread_stats import STATS_VERSION, summary


def _now() -> datetime:
    return datetime.now(timezone.utc)


def model_thresholds(conn: Connection) -> dict[int, dict[str, float]]:
    """{model id: {label: threshold}} for every model in the store."""
    return {
        row.id: {str(k): float(v) for k, v in (row.thresholds or {}).items()}
        for row in conn.execute(select(t.models.c.id, t.models.c.thresholds))
    }


_STAT_COLUMNS = (
    "comments",
    "authors",
    "max_depth",
    "mean_depth",
    "scored",
    "toxic",
    "toxic_share",
    "mean_toxicity",
    "p90_toxicity",
    "max_toxicity",
    "top_label",
    "risk",
    "labels",
)


def write_stats(conn: Connection, scored: ScoredThread, now: datetime) -> None:
    """Replace the thread's row in ``thread_stats`` with ``thread_stats.summary`` of it: of
    the in-context scores where a context model scored the thread (``context`` true, the
    context-free risk and toxic share in the ``*_alone`` columns), else of its scores alone
    (``ScoredThread.measured``, the rule analytics uses too)."""
    thread = scored.thread
    alone = summary(thread, *scored.measured(use_context=False)[:2])
    used = scored.has_context
    s = summary(thread, *scored.measured()[:2]) if used else alone
    row = {
        "thread_id": thread.id,
        "stats_version": STATS_VERSION,
        **{k: v for k, v in s.items() if k in _STAT_COLUMNS},
        "context": used,
        "risk_alone": alone["risk"] if used else None,
        "toxic_alone": alone["toxic"] if used else None,
        "toxic_share_alone": alone["toxic_share"] if used else None,
        "max_toxicity_alone": alone["max_toxicity"] if used else None,
        "first_at": datetime.fromisoformat(s["first_at"]) if s["first_at"] else None,
        "last_at": datetime.fromisoformat(s["last_at"]) if s["last_at"] else None,
        "updated_at": now,
    }
    conn.execute(delete(t.thread_stats).where(t.thread_stats.c.thread_id == thread.id))
    conn.execute(insert(t.thread_stats).values(**row))


def refresh_stats(conn: Connection, thread_ids: Iterable[str], *, now: datetime | None = None) -> int:
    """Recompute the statistics of these threads from what is stored (their current scores)."""
    from analyzer.store.queries import load_thread_data

    now = now or _now()
    n = 0
    for thread_id in thread_ids:
        loaded = load_thread_data(conn, thread_id)
        if loaded is not None:
            write_stats(conn, loaded, now)
            n += 1
    return n


def stale_stats(conn: Connection) -> list[str]:
    """Threads whose statistics are missing or from an older ``thread_stats.STATS_VERSION``."""
    query = (
        select(t.threads.c.id)
        .outerjoin(t.thread_stats, t.thread_stats.c.thread_id == t.threads.c.id)
        .where((t.thread_stats.c.thread_id.is_(None)) | (t.thread_stats.c.stats_version < STATS_VERSION))
    )
    return list(conn.execute(query).scalars())
