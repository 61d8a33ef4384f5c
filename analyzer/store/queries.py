"""Reading the store: the ranked thread list (from ``thread_stats`` only), one thread with its
current scores, one comment with its history, the models and the import log.

"Current" scores are those of a comment's current text revision; where several models gave
a label, the most recently registered model's score is shown. In-context scores (from a
model that reads a reply with its parent, ``context_scores``) are read beside the
context-free ones, never mixed into them: which to use is the caller's choice
(``ScoredThread.measured``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, false, func, select

from analyzer.scored_thread import ScoredThread
from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.store import schema as t
from analyzer.store.rows import comment_row, verdict_rows
from analyzer.thread import Comment, Repair, Thread

ORDERS = ("risk", "comments", "toxic", "updated", "id")
SCORE_MODES = ("context", "alone")  # thread numbers: in context where a context model scored, or context-free


def stat_columns(scores: str = "context") -> dict[str, Any]:
    """The ``thread_stats`` columns of the numbers that depend on which scores a thread is
    measured by: in ``"context"`` mode the stored ones (in context where a context model
    scored the thread), in ``"alone"`` mode the context-free ones (``*_alone``, NULL = the
    same), each labelled by its plain name."""
    if scores not in SCORE_MODES:
        raise ValueError(f"unknown scores {scores!r}; use one of {', '.join(SCORE_MODES)}")
    s = t.thread_stats.c
    if scores == "context":
        return {"risk": s.risk, "toxic": s.toxic, "toxic_share": s.toxic_share, "max_toxicity": s.max_toxicity}
    return {
        "risk": func.coalesce(s.risk_alone, s.risk),
        "toxic": func.coalesce(s.toxic_alone, s.toxic),
        # a NULL share with a context row means no scored comment: the same either way
        "toxic_share": case((s.context.is_(True), s.toxic_share_alone), else_=s.toxic_share),
        "max_toxicity": case((s.context.is_(True), s.max_toxicity_alone), else_=s.max_toxicity),
    }


@dataclass
class LoadedThread(ScoredThread):
    """A stored thread: its ``ScoredThread`` (current scores) and what the store knows of it."""

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

    models = _model_rows(conn)
    scores, label_model = _current_scores(conn, t.scores, thread_id)
    context_scores, context_label_model = _current_scores(conn, t.context_scores, thread_id)
    stats = conn.execute(select(t.thread_stats).where(t.thread_stats.c.thread_id == thread_id)).first()
    return LoadedThread(
        thread=thread,
        scores=scores,
        models=_versions(models, label_model),
        thresholds=_thresholds(models, label_model),
        context_scores=context_scores,
        context_models=_versions(models, context_label_model),
        context_thresholds=_thresholds(models, context_label_model),
        info={
            "title": row.title,
            "source": row.source,
            "format": row.format,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "stats": dict(stats._mapping) if stats is not None else None,
        },
    )


def _current_scores(conn: Connection, table: Any, thread_id: str) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """{comment id: {label: value}} of the comments' current revisions from ``table``
    (``scores`` or ``context_scores``), the newest model winning a label, and that model's
    id per label."""
    chosen: dict[tuple[str, str], tuple[int, float]] = {}
    query = (
        select(t.comments.c.comment_id, table.c.label, table.c.value, table.c.model_id)
        .join(table, and_(table.c.comment_pk == t.comments.c.pk, table.c.revision == t.comments.c.revision))
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
    return scores, label_model


def _versions(models: dict[int, Any], label_model: dict[str, int]) -> dict[str, str]:
    return {label: f"{models[mid].name}@{models[mid].fingerprint}" for label, mid in label_model.items()}


def _thresholds(models: dict[int, Any], label_model: dict[str, int]) -> dict[str, float]:
    return {
        label: float((models[mid].thresholds or {}).get(label, DEFAULT_THRESHOLD)) for label, mid in label_model.items()
    }


def escape_like(text: str) -> str:
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
    scores: str | None = None,
) -> list[Any]:
    where: list[Any] = []
    if since is not None:  # threads with a comment at or after ``since``
        where.append(t.thread_stats.c.last_at >= since)
    if until is not None:  # ... and one before ``until``
        where.append(t.thread_stats.c.first_at < until)
    if search:
        pattern = f"%{escape_like(search)}%"
        where.append(t.threads.c.id.ilike(pattern, escape="\\") | t.threads.c.title.ilike(pattern, escape="\\"))
    if min_risk is not None:
        where.append(stat_columns(scores or "context")["risk"] >= min_risk)
    if min_comments is not None:
        where.append(t.thread_stats.c.comments >= min_comments)
    if label:
        where.append(t.thread_stats.c.top_label == label)
    if source:
        where.append(t.threads.c.source == source)
    if format:
        where.append(t.threads.c.format == format)
    return where


FILTERS = ("search", "min_risk", "min_comments", "label", "source", "format", "since", "until", "scores")


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
    scores: str = "context",
) -> list[dict[str, Any]]:
    """Threads with their statistics, riskiest first (or by ``order``), read from
    ``thread_stats`` through its risk index: no aggregation over comments. ``since`` /
    ``until`` keep threads with comments in that time range. ``scores`` ("context", the
    default, or "alone") picks which risk, toxic count, toxic share and max toxicity are
    shown and ranked by (``stat_columns``); each row's ``in_context`` says whether its
    numbers are the in-context ones."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
    s, th = t.thread_stats.c, t.threads.c
    mode = stat_columns(scores)
    key = {
        "risk": mode["risk"].desc(),
        "comments": s.comments.desc(),
        "toxic": mode["toxic"].desc(),
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
            mode["toxic"].label("toxic"),
            mode["toxic_share"].label("toxic_share"),
            s.mean_toxicity,
            s.p90_toxicity,
            mode["max_toxicity"].label("max_toxicity"),
            s.top_label,
            s.first_at,
            s.last_at,
            mode["risk"].label("risk"),
            (s.context if scores == "context" else false()).label("in_context"),
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
                scores=scores,
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
    """One comment: its fields, current scores (label -> value and model), its current
    in-context scores (``context_scores``, same shape; empty without a context model), every
    stored score (all revisions and models; ``in_context`` says which kind) and its
    verdicts, newest first."""
    row = comment_row(conn, thread_id, comment_id)
    if row is None:
        return None
    models = _model_rows(conn)
    history: list[dict[str, Any]] = []
    current: dict[str, dict[str, dict[str, Any]]] = {"scores": {}, "context_scores": {}}
    for key, table in (("scores", t.scores), ("context_scores", t.context_scores)):
        best: dict[str, int] = {}
        for r in conn.execute(
            select(table)
            .where(table.c.comment_pk == row.pk)
            .order_by(table.c.revision, table.c.model_id, table.c.label)
        ):
            m = models[r.model_id]
            history.append(
                {
                    "revision": r.revision,
                    "model": f"{m.name}@{m.fingerprint}",
                    "label": r.label,
                    "value": r.value,
                    "windowed": getattr(r, "windowed", None),
                    "in_context": key == "context_scores",
                    "current": r.revision == row.revision,
                }
            )
            if r.revision == row.revision and r.model_id > best.get(r.label, -1):
                best[r.label] = r.model_id
                current[key][r.label] = {
                    "value": r.value,
                    "model": f"{m.name}@{m.fingerprint}",
                    "threshold": float((m.thresholds or {}).get(r.label, DEFAULT_THRESHOLD)),
                }
    out = {k: v for k, v in row._mapping.items() if k != "pk"}
    out.update(**current, history=history, verdicts=verdict_rows(conn, comment_pk=row.pk))
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
