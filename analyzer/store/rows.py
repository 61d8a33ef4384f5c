"""Row readers that both ``queries`` and ``review`` need (one comment's row, the verdicts):
kept here so those two modules do not import each other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, select

from analyzer.store import schema as t

__all__ = ["comment_row", "verdict_rows", "verdicts_query"]


def comment_row(conn: Connection, thread_id: str, comment_id: str) -> Any | None:
    """The stored row of one comment (None when the thread has no such comment)."""
    return conn.execute(
        select(t.comments).where(t.comments.c.thread_id == thread_id, t.comments.c.comment_id == comment_id)
    ).first()


def verdict_rows(
    conn: Connection,
    *,
    comment_pk: int | None = None,
    thread_id: str | None = None,
    comment_id: str | None = None,
    reviewer: str | None = None,
    decision: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Verdicts, newest first, each with its comment's ids and whether it judged the current text."""
    v, c = t.verdicts.c, t.comments.c
    query = verdicts_query()
    for column, value in (
        (v.comment_pk, comment_pk),
        (c.thread_id, thread_id),
        (c.comment_id, comment_id),
        (v.reviewer, reviewer),
        (v.decision, decision),
    ):
        if value is not None:
            query = query.where(column == value)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def verdicts_query() -> Select[Any]:
    """Every verdict with its comment's ids and ``stale`` (it judged an earlier text), newest
    first: the one shape verdicts are read in; callers add their filters."""
    v, c = t.verdicts.c, t.comments.c
    return (
        select(
            v.id,
            c.thread_id,
            c.comment_id,
            v.reviewer,
            v.decision,
            v.labels,
            v.note,
            v.created_at,
            v.revision,
            (v.revision != c.revision).label("stale"),
            v.source,
            v.community_id,
            v.client_token,
        )
        .select_from(t.verdicts.join(t.comments, c.pk == v.comment_pk))
        .order_by(v.created_at.desc(), v.id.desc())
    )
