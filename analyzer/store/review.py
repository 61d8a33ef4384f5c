"""Human review: verdicts on comments, and the queue of comments worth a reviewer's time.

A verdict is ``approve`` (the comment is fine: none of the toxicity labels), ``remove`` (it
is toxic) or ``relabel`` (explicit labels). ``labels`` maps toxicity labels to 0/1 and may
carry ``"sentiment": "negative"|"neutral"|"positive"``. Verdicts record the text revision
they judged, so a verdict on text that later changed is recognisable as stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, func, insert, literal_column, select

from analyzer.errors import AnalyzerError
from analyzer.scoring.labels import DEFAULT_THRESHOLD, SENTIMENT_LABELS, TOXICITY_LABELS
from analyzer.store import schema as t
from analyzer.store.rows import comment_row
from analyzer.store.rows import verdict_rows as verdict_rows  # re-exported: its long-standing name
from analyzer.store.scopes import scope_filter

if TYPE_CHECKING:
    from analyzer.store.database import Database

MAX_REVIEWER = 200
MAX_NOTE = 10_000
VERDICT_SOURCES = ("dashboard", "cli", "api")


def validate_verdict(decision: str, labels: Mapping[str, Any] | None) -> dict[str, Any]:
    """The verdict's labels, normalised (0/1 ints, a sentiment class), or AnalyzerError."""
    if decision not in t.DECISIONS:
        raise AnalyzerError(f"unknown decision {decision!r}; use one of {', '.join(t.DECISIONS)}")
    out: dict[str, Any] = {}
    for key, value in (labels or {}).items():
        if key == "sentiment":
            if value not in SENTIMENT_LABELS:
                raise AnalyzerError(f"sentiment must be one of {', '.join(SENTIMENT_LABELS)}, not {value!r}")
            out[key] = value
        elif key in TOXICITY_LABELS:
            if isinstance(value, (bool, int, float)) and value in (0, 1):
                out[key] = int(value)
            else:
                raise AnalyzerError(f"label {key!r} must be 0 or 1, not {value!r}")
        else:
            raise AnalyzerError(f"unknown label {key!r}; use {', '.join(TOXICITY_LABELS)} (0/1) or 'sentiment'")
    if decision == "relabel" and not out:
        raise AnalyzerError("a relabel verdict needs labels, e.g. {'insult': 1}")
    return out


def add_verdict(
    conn: Connection,
    thread_id: str,
    comment_id: str,
    *,
    reviewer: str,
    decision: str,
    labels: Mapping[str, Any] | None = None,
    note: str | None = None,
    at: datetime | None = None,
    source: str = "dashboard",
    community_id: str | None = None,
    client_token: str | None = None,
) -> int:
    """Record a reviewer's verdict on a comment; returns its id."""
    if source not in VERDICT_SOURCES:
        raise AnalyzerError(f"unknown verdict source {source!r}; use one of {', '.join(VERDICT_SOURCES)}")
    clean = validate_verdict(decision, labels)
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise AnalyzerError("a verdict needs a reviewer name")
    if len(reviewer) > MAX_REVIEWER or (note is not None and len(note) > MAX_NOTE):
        raise AnalyzerError(f"reviewer name (max {MAX_REVIEWER}) or note (max {MAX_NOTE} characters) too long")
    row = comment_row(conn, thread_id, comment_id)
    if row is None:
        raise AnalyzerError(f"no comment {comment_id!r} in thread {thread_id!r}")
    result = conn.execute(
        insert(t.verdicts).values(
            comment_pk=row.pk,
            revision=row.revision,
            reviewer=reviewer,
            decision=decision,
            labels=clean,
            note=note,
            created_at=at or datetime.now(timezone.utc),
            source=source,
            community_id=community_id,
            client_token=client_token,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]  # set by every INSERT


def latest_model_for(conn: Connection, label: str) -> Any | None:
    """The most recently registered context-free model that provides ``label`` (a context
    model's scores are in ``context_scores``, not in the ``scores`` the queue reads)."""
    for row in conn.execute(select(t.models).where(t.models.c.context.is_(None)).order_by(t.models.c.id.desc())):
        if label in (row.labels or []) or label in (row.thresholds or {}):
            return row
    return None


def review_queue(
    conn: Connection,
    label: str,
    threshold: float | None = None,
    band: float | None = None,
    *,
    limit: int = 50,
    thread_id: str | None = None,
    include_reviewed: bool = False,
    scope: str | None = None,
    rule: int | str | None = None,
) -> list[dict[str, Any]]:
    """Comments to review for ``label``: first those the enabled rules flagged (banned before
    suspect, then by score), then the model's, by the newest model giving the label: without
    ``band``, those at or above ``threshold`` (the model's own by default), highest first;
    with ``band``, those within +-band of it, closest first (where the model is least sure).
    ``rule`` ("any" or a rule id) keeps only rule-flagged comments; ``scope`` keeps the threads
    in it (``analyzer.rules.in_scope``: ``community:X``, ``source:GLOB``, ...; a bare entry
    is a prefix of the thread's id, source or format). Each item has ``reasons``
    (why rules flagged it). Comments with a verdict are left out unless ``include_reviewed``."""
    from analyzer.store.rules import hits_for

    if band is not None and band < 0:
        raise AnalyzerError("band must be >= 0")
    model = latest_model_for(conn, label)
    if threshold is None:
        threshold = float((model.thresholds or {}).get(label, DEFAULT_THRESHOLD)) if model is not None else None
    version = f"{model.name}@{model.fingerprint}" if model is not None else None
    s, c = t.scores.c, t.comments.c
    where = [c.kind == "comment"]
    if thread_id is not None:
        where.append(c.thread_id == thread_id)
    if (in_scope := scope_filter(conn, scope)) is not None:
        where.append(in_scope)
    if not include_reviewed:
        where.append(~exists().where(t.verdicts.c.comment_pk == c.pk))
    columns = (c.pk, c.thread_id, c.comment_id, c.author, c.depth, c.created_at, c.text)

    flagged = _rule_flagged(conn, model, label, rule, where, columns, limit)
    items = [dict(r._mapping) for r in flagged]
    if rule is None and model is not None and threshold is not None and len(items) < limit:
        query = (
            select(*columns, s.value.label("score"))
            .select_from(
                t.scores.join(t.comments, and_(c.pk == s.comment_pk, c.revision == s.revision)).join(
                    t.threads, t.threads.c.id == c.thread_id
                )
            )
            .where(s.model_id == model.id, s.label == label, *where)
        )
        if band is None:
            query = query.where(s.value >= threshold).order_by(s.value.desc(), c.pk)
        else:
            query = query.where(s.value.between(threshold - band, threshold + band)).order_by(
                func.abs(s.value - threshold), c.pk
            )
        taken = {i["pk"] for i in items}
        for r in conn.execute(query.limit(limit)):
            if r.pk not in taken and len(items) < limit:
                items.append(dict(r._mapping))
    reasons = hits_for(conn, [i["pk"] for i in items])
    return [
        {
            **i,
            "label": label,
            "threshold": threshold,
            "model": version,
            "reasons": [h["reason"] for h in reasons.get(i["pk"], [])],
            "rules": [h["rule_id"] for h in reasons.get(i["pk"], [])],
        }
        for i in items
    ]


def _rule_flagged(
    conn: Connection, model: Any | None, label: str, rule: int | str | None, where: list[Any], columns: Any, limit: int
) -> list[Any]:
    """Comments flagged by enabled rules (by ``rule`` only, when an id), banned first, then
    by the model's score for ``label``."""
    h, r, c, s = t.rule_hits.c, t.rules.c, t.comments.c, t.scores.c
    hit_filter: list[ColumnElement[bool]] = [r.enabled.is_(True)]
    if rule is not None and rule != "any":
        hit_filter.append(h.rule_id == int(rule))
    flagged = (
        select(h.comment_pk.label("pk"), func.min(r.severity).label("severity"))
        .join(t.rules, r.id == h.rule_id)
        .where(*hit_filter)
        .group_by(h.comment_pk)
        .subquery()
    )
    joined = flagged.join(t.comments, and_(c.pk == flagged.c.pk)).join(t.threads, t.threads.c.id == c.thread_id)
    score: ColumnElement[Any]
    if model is not None:
        joined = joined.outerjoin(
            t.scores, and_(s.comment_pk == c.pk, s.revision == c.revision, s.model_id == model.id, s.label == label)
        )
        score = s.value
    else:
        score = literal_column("NULL")
    query = (
        select(*columns, score.label("score"))
        .select_from(joined)
        .where(*where)
        .order_by(flagged.c.severity, score.is_(None), score.desc(), c.pk)
        .limit(limit)
    )
    return list(conn.execute(query))


def verdict_truth(decision: str, labels: Mapping[str, Any] | None, label: str) -> int | None:
    """What a verdict says about ``label`` (1, 0, or None when it says nothing), read the
    way ``exporting.training_rows`` reads it: approve = no toxicity label, remove =
    toxicity (other labels as given), relabel = the labels given; sentiment by name."""
    given = dict(labels or {})
    if label in SENTIMENT_LABELS:
        sentiment = given.get("sentiment")
        return None if sentiment is None else int(sentiment == label)
    if label in given:
        return int(given[label])
    if decision == "approve":
        return 0
    if decision == "remove" and label == "toxicity":
        return 1
    return None


def verdict_scores(conn: Connection, label: str, *, limit: int = 100_000) -> list[tuple[float, int]]:
    """(current score, reviewer's answer) for ``label`` on every comment whose latest
    verdict judged its current text and says something about the label: the community's
    own validation set, for precision and recall at a chosen threshold."""
    model = latest_model_for(conn, label)
    if model is None:
        return []
    c, v, s = t.comments.c, t.verdicts.c, t.scores.c
    query = (
        select(v.comment_pk, v.decision, v.labels, s.value)
        .select_from(
            t.verdicts.join(t.comments, and_(c.pk == v.comment_pk, c.revision == v.revision)).join(
                t.scores, and_(s.comment_pk == c.pk, s.revision == c.revision)
            )
        )
        .where(s.model_id == model.id, s.label == label)
        .order_by(v.created_at, v.id)
        .limit(limit)
    )
    latest: dict[int, tuple[float, int | None]] = {}
    for r in conn.execute(query):
        latest[r.comment_pk] = (float(r.value), verdict_truth(r.decision, r.labels, label))
    return [(score, truth) for score, truth in latest.values() if truth is not None]


# ---------------------------------------------------------------------------- bulk review
MAX_BULK = 5000  # comments in one bulk action


def subtree_ids(conn: Connection, thread_id: str, comment_id: str) -> list[str]:
    """``comment_id`` and every reply below it, pre-order-ish (iterative: chains can be deep)."""
    c = t.comments.c
    children: dict[str, list[str]] = {}
    for cid, parent in conn.execute(
        select(c.comment_id, c.parent_id).where(c.thread_id == thread_id).order_by(c.position)
    ):
        if parent is not None:
            children.setdefault(parent, []).append(cid)
    out, stack, seen = [], [comment_id], set()
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        seen.add(cid)
        out.append(cid)
        stack.extend(reversed(children.get(cid, [])))
    return out


def bulk_verdicts(
    conn: Connection,
    targets: Sequence[tuple[str, str]],
    *,
    reviewer: str,
    decision: str,
    note: str | None = None,
    at: datetime | None = None,
    source: str = "dashboard",
) -> tuple[str, int]:
    """One verdict (approve or remove) on each of ``targets`` ((thread id, comment id)
    pairs; posts are skipped), recorded as one action; returns (action id, verdicts)."""
    if decision not in ("approve", "remove"):
        raise AnalyzerError("a bulk action approves or removes; relabel comments one at a time")
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise AnalyzerError("a verdict needs a reviewer name")
    if len(reviewer) > MAX_REVIEWER or (note is not None and len(note) > MAX_NOTE):
        raise AnalyzerError(f"reviewer name (max {MAX_REVIEWER}) or note (max {MAX_NOTE} characters) too long")
    wanted = list(dict.fromkeys(targets))
    if not wanted:
        raise AnalyzerError("no comments selected")
    if len(wanted) > MAX_BULK:
        raise AnalyzerError(f"at most {MAX_BULK} comments in one bulk action")
    c = t.comments.c
    by_thread: dict[str, list[str]] = {}
    for tid, cid in wanted:
        by_thread.setdefault(tid, []).append(cid)
    rows = [
        row
        for tid, cids in by_thread.items()
        for i in range(0, len(cids), 500)
        for row in conn.execute(
            select(c.pk, c.thread_id, c.comment_id, c.revision, c.kind).where(
                c.thread_id == tid, c.comment_id.in_(cids[i : i + 500])
            )
        ).all()
    ]
    found = {(r.thread_id, r.comment_id) for r in rows}
    missing = [w for w in wanted if w not in found]
    if missing:
        tid, cid = missing[0]
        raise AnalyzerError(
            f"no comment {cid!r} in thread {tid!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    action_id = uuid.uuid4().hex
    when = at or datetime.now(timezone.utc)
    values = [
        {
            "comment_pk": r.pk,
            "revision": r.revision,
            "reviewer": reviewer,
            "decision": decision,
            "labels": {},
            "note": note,
            "created_at": when,
            "source": source,
            "action_id": action_id,
        }
        for r in rows
        if r.kind == "comment"
    ]
    if values:
        conn.execute(insert(t.verdicts), values)
    return action_id, len(values)


def undo_action(conn: Connection, action_id: str) -> int:
    """Delete the verdicts of one bulk action (and nothing else); returns how many."""
    if not action_id:
        return 0
    return int(conn.execute(delete(t.verdicts).where(t.verdicts.c.action_id == action_id)).rowcount or 0)


def last_action(conn: Connection, reviewer: str) -> dict[str, Any] | None:
    """The reviewer's newest bulk action still stored: {action_id, decision, verdicts, created_at}."""
    v = t.verdicts.c
    row = conn.execute(
        select(v.action_id, v.decision, v.created_at)
        .where(v.reviewer == reviewer, v.action_id.is_not(None))
        .order_by(v.created_at.desc(), v.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    n = conn.execute(select(func.count()).select_from(t.verdicts).where(v.action_id == row.action_id)).scalar()
    return {"action_id": row.action_id, "decision": row.decision, "verdicts": int(n or 0), "created_at": row.created_at}


# ---------------------------------------------------------------------------- on a Store
def queue(
    store: Database, label: str, threshold: float | None = None, band: float | None = None, **kw: Any
) -> list[dict[str, Any]]:
    """``review_queue`` in one read snapshot (with the scope and rule filters)."""
    with store.read() as conn:
        return review_queue(conn, label, threshold, band, **kw)


def bulk_review(
    store: Database,
    targets: Sequence[tuple[str, str]],
    *,
    reviewer: str,
    decision: str,
    with_replies: bool = False,
    note: str | None = None,
) -> tuple[str, int]:
    """``bulk_verdicts`` in one transaction; ``with_replies`` adds every reply below each target."""
    with store.write() as conn:
        if with_replies:
            targets = [(tid, sub) for tid, cid in targets for sub in subtree_ids(conn, tid, cid)]
        return bulk_verdicts(conn, targets, reviewer=reviewer, decision=decision, note=note)


def undo(store: Database, action_id: str) -> int:
    with store.write() as conn:
        return undo_action(conn, action_id)


def last_bulk_action(store: Database, reviewer: str) -> dict[str, Any] | None:
    with store.read() as conn:
        return last_action(conn, reviewer)
