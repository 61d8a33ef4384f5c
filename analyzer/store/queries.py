"""Reading the store: the ranked thread list (from ``thread_stats`` only), one thread with its
current scores, one comment with its history, the models and the import log.

"Current" scores are those of a comment's current text revision; where several models gave
a label, the most recently registered model's score is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.store import schema as t
from analyzer.store.rows import comment_row, verdict_rows
from analyzer.thread import Comment, Repair, Thread

ORDERS = ("risk", "comments", "toxic", "updated", "id")


@dataclass
class LoadedThread:
    """A stored thread rebuilt as a ``Thread``, with what the analytics need beside it."""

    thread: Thread
    scores: dict[str, dict[str, float]]  # comment id -> label -> probability (current)
    models: dict[str, str]  # label -> "name@fingerprint" of the model shown
    thresholds: dict[str, float]  # label -> that model's threshold
    info: dict[str, Any] = field(default_factory=dict)  # title, source, format, times, stats


def _model_rows(conn: Connection) -> dict[int, Any]:
    return {row.id: row for row in conn.execute(select(t.models))}


def load_thread_data(conn: Connection, thread_id: str) -> LoadedThread | None:
    """The thread ``thread_id`` as stored, or None."""
    row = conn.execute(select(t.threads).where(t.threads.c.id == thread_id)).first()
    if row is None:
        return None
    post: Comment | None = None
    comments: list[Comment] = []
    for r in conn.execute(
        select(t.comments).where(t.comments.c.thread_id == thread_id).order_by(t.comments.c.position)
    ):
        c = Comment(
            id=r.comment_id,
            text=r.text,
            parent_id=r.parent_id,
            author=r.author,
            author_inferred=r.author_inferred,
            created_at=r.created_at,
            created_precision=r.created_precision,
            kind=r.kind,
            depth=r.depth,
            extra=dict(r.extra or {}),
            flags=list(r.flags or []),
        )
        if c.kind == "post" and post is None:
            post = c
        else:
            comments.append(c)
    # build() re-derives depths: a re-import may have moved a comment above others kept from before.
    thread = Thread.build(row.id, comments, post, source=row.source, format=row.format, extra=dict(row.extra or {}))
    thread.repairs = [
        Repair(r["kind"], tuple(r.get("ids", ())), r.get("message", "")) for r in (row.repairs or [])
    ] + thread.repairs

    chosen: dict[tuple[str, str], tuple[int, float]] = {}
    query = (
        select(t.comments.c.comment_id, t.scores.c.label, t.scores.c.value, t.scores.c.model_id)
        .join(t.scores, and_(t.scores.c.comment_pk == t.comments.c.pk, t.scores.c.revision == t.comments.c.revision))
        .where(t.comments.c.thread_id == thread_id)
    )
    label_model: dict[str, int] = {}
    for cid, label, value, model_id in conn.execute(query):
        key = (cid, label)
        if key not in chosen or model_id > chosen[key][0]:
            chosen[key] = (model_id, value)
        if model_id > label_model.get(label, -1):
            label_model[label] = model_id
    scores: dict[str, dict[str, float]] = {}
    for (cid, label), (_, value) in chosen.items():
        scores.setdefault(cid, {})[label] = value
    models = _model_rows(conn)
    stats = conn.execute(select(t.thread_stats).where(t.thread_stats.c.thread_id == thread_id)).first()
    return LoadedThread(
        thread=thread,
        scores=scores,
        models={label: f"{models[mid].name}@{models[mid].fingerprint}" for label, mid in label_model.items()},
        thresholds={
            label: float((models[mid].thresholds or {}).get(label, DEFAULT_THRESHOLD))
            for label, mid in label_model.items()
        },
        info={
            "title": row.title,
            "source": row.source,
            "format": row.format,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "stats": dict(stats._mapping) if stats is not None else None,
        },
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _thread_filters(
    *,
    search: str | None,
    min_risk: float | None,
    min_comments: int | None,
    label: str | None,
    source: str | None,
    format: str | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Any]:
    where: list[Any] = []
    if since is not None:  # threads with a comment at or after ``since``
        where.append(t.thread_stats.c.last_at >= since)
    if until is not None:  # ... and one before ``until``
        where.append(t.thread_stats.c.first_at < until)
    if search:
        pattern = f"%{_escape_like(search)}%"
        where.append(t.threads.c.id.ilike(pattern, escape="\\") | t.threads.c.title.ilike(pattern, escape="\\"))
    if min_risk is not None:
        where.append(t.thread_stats.c.risk >= min_risk)
    if min_comments is not None:
        where.append(t.thread_stats.c.comments >= min_comments)
    if label:
        where.append(t.thread_stats.c.top_label == label)
    if source:
        where.append(t.threads.c.source == source)
    if format:
        where.append(t.threads.c.format == format)
    return where


FILTERS = ("search", "min_risk", "min_comments", "label", "source", "format", "since", "until")


def thread_filters(**filters: Any) -> list[Any]:
    """WHERE clauses over ``threads`` joined to ``thread_stats`` for the ``FILTERS`` given
    (None = no filter), shared by every query that lists or sums threads."""
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"unknown thread filter(s) {', '.join(sorted(unknown))}; use {', '.join(FILTERS)}")
    return _thread_filters(**{k: filters.get(k) for k in FILTERS})


def list_threads(
    conn: Connection,
    *,
    search: str | None = None,
    min_risk: float | None = None,
    min_comments: int | None = None,
    label: str | None = None,
    source: str | None = None,
    format: str | None = None,
    order: str = "risk",
    limit: int | None = 50,
    offset: int = 0,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Threads with their statistics, riskiest first (or by ``order``), read from
    ``thread_stats`` through its risk index: no aggregation over comments. ``since`` /
    ``until`` keep threads with comments in that time range."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
    s, th = t.thread_stats.c, t.threads.c
    key = {
        "risk": s.risk.desc(),
        "comments": s.comments.desc(),
        "toxic": s.toxic.desc(),
        "updated": th.updated_at.desc(),
        "id": th.id.asc(),
    }[order]
    query = (
        select(
            th.id.label("thread_id"),
            th.title,
            th.source,
            th.format,
            th.updated_at,
            s.comments,
            s.authors,
            s.max_depth,
            s.mean_depth,
            s.scored,
            s.toxic,
            s.toxic_share,
            s.mean_toxicity,
            s.p90_toxicity,
            s.max_toxicity,
            s.top_label,
            s.first_at,
            s.last_at,
            s.risk,
        )
        .select_from(t.thread_stats.join(t.threads, th.id == s.thread_id))
        .where(
            *_thread_filters(
                search=search,
                min_risk=min_risk,
                min_comments=min_comments,
                label=label,
                source=source,
                format=format,
                since=since,
                until=until,
            )
        )
        .order_by(key, th.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def count_threads(conn: Connection, **filters: Any) -> int:
    """How many threads ``list_threads`` would list with these filters and no limit."""
    query = (
        select(func.count())
        .select_from(t.thread_stats.join(t.threads, t.threads.c.id == t.thread_stats.c.thread_id))
        .where(*thread_filters(**{k: v for k, v in filters.items() if k in FILTERS}))
    )
    return int(conn.execute(query).scalar() or 0)


def comment_detail(conn: Connection, thread_id: str, comment_id: str) -> dict[str, Any] | None:
    """One comment: its fields, current scores (label -> value and model), every stored
    score (all revisions and models) and its verdicts, newest first."""
    row = comment_row(conn, thread_id, comment_id)
    if row is None:
        return None
    models = _model_rows(conn)
    history = [
        {
            "revision": r.revision,
            "model": f"{models[r.model_id].name}@{models[r.model_id].fingerprint}",
            "label": r.label,
            "value": r.value,
            "windowed": r.windowed,
            "current": r.revision == row.revision,
        }
        for r in conn.execute(
            select(t.scores)
            .where(t.scores.c.comment_pk == row.pk)
            .order_by(t.scores.c.revision, t.scores.c.model_id, t.scores.c.label)
        )
    ]
    current: dict[str, dict[str, Any]] = {}
    best: dict[str, int] = {}
    for r in conn.execute(select(t.scores).where(t.scores.c.comment_pk == row.pk, t.scores.c.revision == row.revision)):
        if r.model_id > best.get(r.label, -1):
            best[r.label] = r.model_id
            m = models[r.model_id]
            current[r.label] = {
                "value": r.value,
                "model": f"{m.name}@{m.fingerprint}",
                "threshold": float((m.thresholds or {}).get(r.label, DEFAULT_THRESHOLD)),
            }
    out = {k: v for k, v in row._mapping.items() if k != "pk"}
    out.update(scores=current, history=history, verdicts=verdict_rows(conn, comment_pk=row.pk))
    return out


def model_list(conn: Connection) -> list[dict[str, Any]]:
    """Every model that has scored something here, oldest first."""
    return [dict(r._mapping) for r in conn.execute(select(t.models).order_by(t.models.c.id))]


def import_list(conn: Connection, *, limit: int | None = 100) -> list[dict[str, Any]]:
    """The import log, newest first."""
    query = select(t.imports).order_by(t.imports.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]
