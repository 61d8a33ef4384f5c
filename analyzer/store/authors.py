"""Reading the store by author: the authors with the most comments, and one author's history
across threads (first seen, threads, every comment's time and current scores, the verdicts
reviewers gave on their comments).

Authors are matched exactly as stored (platform names are case-sensitive); comments without
an author and posts are left out. "Current" scores are as in ``queries``: the current text
revision's, from the most recently registered model that gave the label.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, select

from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.store import schema as t
from analyzer.store.queries import escape_like
from analyzer.store.rows import verdicts_query

MAX_POINTS = 20_000  # an author's comments read for the history (newest first beyond that)
MAX_THREADS = 500
MAX_VERDICTS = 500


def author_list(conn: Connection, *, search: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Authors with their comment and thread counts and first/last comment time, most comments
    first; ``search`` keeps names containing it (case-insensitive)."""
    c = t.comments.c
    query = (
        select(
            c.author,
            func.count().label("comments"),
            func.count(c.thread_id.distinct()).label("threads"),
            func.min(c.created_at).label("first_at"),
            func.max(c.created_at).label("last_at"),
        )
        .where(c.kind == "comment", c.author.is_not(None), c.author != "")
        .group_by(c.author)
        .order_by(func.count().desc(), c.author)
        .limit(limit)
    )
    if search:
        query = query.where(c.author.ilike(f"%{escape_like(search)}%", escape="\\"))
    return [dict(r._mapping) for r in conn.execute(query)]


def _summary(conn: Connection, author: str) -> dict[str, Any] | None:
    c, i = t.comments.c, t.imports.c
    row = conn.execute(
        select(
            func.count().label("comments"),
            func.count(c.thread_id.distinct()).label("threads"),
            func.min(c.created_at).label("first_at"),
            func.max(c.created_at).label("last_at"),
            func.min(i.imported_at).label("first_imported"),
        )
        .select_from(t.comments.join(t.imports, i.id == c.first_import_id))
        .where(c.author == author, c.kind == "comment")
    ).first()
    if row is None or not row.comments:
        return None
    return dict(row._mapping)


def _threads(conn: Connection, author: str) -> list[dict[str, Any]]:
    c, th = t.comments.c, t.threads.c
    query = (
        select(
            c.thread_id,
            th.title,
            func.count().label("comments"),
            func.min(c.created_at).label("first_at"),
            func.max(c.created_at).label("last_at"),
        )
        .select_from(t.comments.join(t.threads, th.id == c.thread_id))
        .where(c.author == author, c.kind == "comment")
        .group_by(c.thread_id, th.title)
        .order_by(func.min(c.created_at).desc(), c.thread_id)
        .limit(MAX_THREADS)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _points(conn: Connection, author: str, limit: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The author's comments (newest ``limit``) with their current scores, and per label the
    threshold of the model whose score is shown."""
    c, s = t.comments.c, t.scores.c
    rows = list(
        conn.execute(
            select(c.pk, c.thread_id, c.comment_id, c.created_at, c.created_precision)
            .where(c.author == author, c.kind == "comment")
            .order_by(c.created_at.desc(), c.pk.desc())
            .limit(limit)
        )
    )
    if not rows:
        return [], {}
    wanted = [r.pk for r in rows]
    chosen: dict[int, dict[str, tuple[int, float]]] = {}
    for i in range(0, len(wanted), 500):
        query = (
            select(s.comment_pk, s.label, s.value, s.model_id)
            .join(t.comments, and_(c.pk == s.comment_pk, c.revision == s.revision))
            .where(s.comment_pk.in_(wanted[i : i + 500]))
        )
        for pk, label, value, model_id in conn.execute(query):
            mine = chosen.setdefault(pk, {})
            if label not in mine or model_id > mine[label][0]:
                mine[label] = (model_id, value)
    label_model: dict[str, int] = {}
    for mine in chosen.values():
        for label, (model_id, _) in mine.items():
            label_model[label] = max(model_id, label_model.get(label, -1))
    models = {r.id: r for r in conn.execute(select(t.models.c.id, t.models.c.thresholds))}
    thresholds = {
        label: float((models[mid].thresholds or {}).get(label, DEFAULT_THRESHOLD)) for label, mid in label_model.items()
    }
    points = [
        {
            "thread_id": r.thread_id,
            "comment_id": r.comment_id,
            "created_at": r.created_at,
            "created_precision": r.created_precision,
            "scores": {label: value for label, (_, value) in chosen.get(r.pk, {}).items()},
        }
        for r in reversed(rows)  # oldest first
    ]
    return points, thresholds


def author_verdicts(conn: Connection, author: str, *, limit: int = MAX_VERDICTS) -> list[dict[str, Any]]:
    """Verdicts on the author's comments, newest first, with the same fields as
    ``review.verdict_rows`` (``stale``: the verdict judged an earlier text)."""
    c = t.comments.c
    query = verdicts_query().where(c.author == author, c.kind == "comment").limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def author_profile(conn: Connection, author: str, *, limit: int = MAX_POINTS) -> dict[str, Any] | None:
    """Everything the Authors view shows about ``author`` across threads (None when the store
    has no comment by them): ``summary`` (comments, threads, first and last comment time,
    ``first_imported``: when the store first saw them), ``threads``, ``points`` (their
    comments, oldest first, with current scores), ``thresholds`` and ``verdicts``."""
    summary = _summary(conn, author)
    if summary is None:
        return None
    points, thresholds = _points(conn, author, limit)
    return {
        "author": author,
        "summary": summary,
        "threads": _threads(conn, author),
        "points": points,
        "thresholds": thresholds,
        "verdicts": author_verdicts(conn, author),
        "truncated": summary["comments"] > len(points),
    }
