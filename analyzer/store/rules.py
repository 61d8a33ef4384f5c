"""Moderation rules in the store: the rules themselves and the comments they flagged.

Rules run on the comments an import adds or changes, inside the import's transaction
(``apply_after_import``, called by the import hook in ``store.alerts``), and over the whole
store on demand (``rerun``). A hit records the text revision it read and a reason a
reviewer can read; flagged comments join the review queue (``review.review_queue``).
Matching itself is pure and lives in ``analyzer.rules``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, true, update

from analyzer.rules import (
    Matcher,
    Rule,
    RuleError,
    canonical_scope,
    compile_rules,
    in_scope,
    new_author_reason,
    validate,
)
from analyzer.store import schema as t
from analyzer.store.database import IMPORT_LOCK

if TYPE_CHECKING:
    from analyzer.store.database import Database

CHUNK = 500


@dataclass(frozen=True)
class Hit:
    """A rule's new or current flag on a comment."""

    comment_pk: int
    rule_id: int
    thread_id: str
    comment_id: str
    reason: str
    severity: str
    rule: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------- rules
def _rule(row: Any) -> Rule:
    return Rule(
        id=int(row.id),
        name=row.name,
        kind=row.kind,
        severity=row.severity,
        pattern=row.pattern or "",
        scope=canonical_scope(row.scope or "all"),  # an old bare prefix reads as prefix:...
        enabled=bool(row.enabled),
    )


def rule_list(conn: Connection, *, enabled_only: bool = False) -> list[Rule]:
    query = select(t.rules).order_by(t.rules.c.id)
    if enabled_only:
        query = query.where(t.rules.c.enabled.is_(True))
    return [_rule(r) for r in conn.execute(query)]


def add_rule(conn: Connection, rule: Rule, *, now: datetime | None = None) -> int:
    """Store a new rule (validated); returns its id."""
    clean = validate(rule)
    now = now or _now()
    values = {k: getattr(clean, k) for k in ("name", "kind", "severity", "pattern", "scope", "enabled")}
    result = conn.execute(insert(t.rules).values(created_at=now, updated_at=now, **values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]  # set by every INSERT


def update_rule(conn: Connection, rule_id: int, rule: Rule, *, now: datetime | None = None) -> None:
    """Replace a rule's settings; its old hits stay until the rules are run again."""
    clean = validate(rule)
    values = {k: getattr(clean, k) for k in ("name", "kind", "severity", "pattern", "scope", "enabled")}
    done = conn.execute(update(t.rules).where(t.rules.c.id == rule_id).values(updated_at=now or _now(), **values))
    if not done.rowcount:
        raise RuleError(f"no rule {rule_id}")


def delete_rule(conn: Connection, rule_id: int) -> None:
    conn.execute(delete(t.rule_hits).where(t.rule_hits.c.rule_id == rule_id))
    conn.execute(delete(t.rules).where(t.rules.c.id == rule_id))


def hit_counts(conn: Connection) -> dict[int, int]:
    """{rule id: comments it flags}."""
    h = t.rule_hits.c
    return {int(r): int(n) for r, n in conn.execute(select(h.rule_id, func.count()).group_by(h.rule_id))}


def hits_for(conn: Connection, comment_pks: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """{comment pk: [{rule_id, rule, severity, reason}]} for the enabled rules' hits, banned first."""
    pks = list(dict.fromkeys(comment_pks))
    out: dict[int, list[dict[str, Any]]] = {}
    h, r = t.rule_hits.c, t.rules.c
    for i in range(0, len(pks), CHUNK):
        query = (
            select(h.comment_pk, h.rule_id, h.reason, r.name, r.severity)
            .join(t.rules, r.id == h.rule_id)
            .where(h.comment_pk.in_(pks[i : i + CHUNK]), r.enabled.is_(True))
            .order_by(h.comment_pk, r.severity, h.rule_id)  # "banned" sorts before "suspect"
        )
        for row in conn.execute(query):
            out.setdefault(int(row.comment_pk), []).append(
                {"rule_id": int(row.rule_id), "rule": row.name, "severity": row.severity, "reason": row.reason}
            )
    return out


# ---------------------------------------------------------------------------- matching
def _candidates(conn: Connection, where: Sequence[Any], *, limit: int | None = None) -> list[Any]:
    """Comment rows (with their thread's source and format) the rules read, in pk order."""
    c, th = t.comments.c, t.threads.c
    query = (
        select(c.pk, c.thread_id, c.comment_id, c.author, c.author_inferred, c.text, c.revision, th.source, th.format)
        .join(t.threads, th.id == c.thread_id)
        .where(c.kind == "comment", *where)
        .order_by(c.pk)
        .limit(limit)
    )
    return list(conn.execute(query))


def _first_comments(conn: Connection, authors: Iterable[str]) -> dict[str, int]:
    """{author: pk of their first stored comment} (named authors only)."""
    names = list(dict.fromkeys(authors))
    c = t.comments.c
    out: dict[str, int] = {}
    for i in range(0, len(names), CHUNK):
        query = (
            select(c.author, func.min(c.pk))
            .where(c.author.in_(names[i : i + CHUNK]), c.author_inferred.is_(False), c.kind == "comment")
            .group_by(c.author)
        )
        out.update((a, int(pk)) for a, pk in conn.execute(query))
    return out


def match(rows: Sequence[Any], matchers: Sequence[Matcher], first: dict[str, int]) -> dict[tuple[int, int], str]:
    """{(comment pk, rule id): reason} for ``rows`` (comment rows with their thread's source
    and format) under ``matchers``; ``first`` names each author's first comment."""
    out: dict[tuple[int, int], str] = {}
    for row in rows:
        for m in matchers:
            rule = m.rule
            if rule.id is None or not in_scope(rule.scope, row.thread_id, row.source, row.format):
                continue
            if rule.kind == "new_author":
                if row.author and not row.author_inferred and first.get(row.author) == row.pk:
                    out[(row.pk, rule.id)] = new_author_reason(rule, row.author)
                continue
            reason = m.reason(row.text or "")
            if reason is not None:
                out[(row.pk, rule.id)] = reason
    return out


def _merge(
    conn: Connection, rows: Sequence[Any], found: dict[tuple[int, int], str], rules: dict[int, Rule], now: datetime
) -> list[Hit]:
    """Make the stored hits of ``rows`` exactly ``found``; returns the hits that are new."""
    pks = [r.pk for r in rows]
    h = t.rule_hits.c
    have: dict[tuple[int, int], tuple[str, int]] = {}
    for i in range(0, len(pks), CHUNK):
        for row in conn.execute(
            select(h.comment_pk, h.rule_id, h.reason, h.revision).where(h.comment_pk.in_(pks[i : i + CHUNK]))
        ):
            have[(int(row.comment_pk), int(row.rule_id))] = (row.reason, int(row.revision))
    by_pk = {r.pk: r for r in rows}
    gone = [k for k in have if k not in found]
    for pk, rule_id in gone:
        conn.execute(delete(t.rule_hits).where(h.comment_pk == pk, h.rule_id == rule_id))
    new = [
        {
            "comment_pk": pk,
            "rule_id": rule_id,
            "revision": by_pk[pk].revision,
            "reason": reason,
            "created_at": now,
        }
        for (pk, rule_id), reason in found.items()
        if (pk, rule_id) not in have
    ]
    if new:
        conn.execute(insert(t.rule_hits), new)
    for (pk, rule_id), reason in found.items():
        old = have.get((pk, rule_id))
        if old is not None and old != (reason, by_pk[pk].revision):
            conn.execute(
                update(t.rule_hits)
                .where(h.comment_pk == pk, h.rule_id == rule_id)
                .values(reason=reason, revision=by_pk[pk].revision)
            )
    return [
        Hit(
            comment_pk=n["comment_pk"],
            rule_id=n["rule_id"],
            thread_id=by_pk[n["comment_pk"]].thread_id,
            comment_id=by_pk[n["comment_pk"]].comment_id,
            reason=n["reason"],
            severity=rules[n["rule_id"]].severity,
            rule=rules[n["rule_id"]].name,
        )
        for n in new
    ]


def apply_after_import(
    conn: Connection, thread_ids: Sequence[str], import_ids: Sequence[int], now: datetime
) -> list[Hit]:
    """Run the enabled rules over the comments this import added or changed (in its
    transaction); returns the new hits. Nothing to do, and no comment read, without rules."""
    rules = rule_list(conn, enabled_only=True)
    matchers = compile_rules(rules)
    if not matchers or not import_ids:
        return []
    ids = list(dict.fromkeys(thread_ids))
    c = t.comments.c
    new: list[Hit] = []
    by_id = {r.id: r for r in rules if r.id is not None}
    wants_authors = any(m.rule.kind == "new_author" for m in matchers)
    for i in range(0, len(ids), CHUNK):
        rows = _candidates(
            conn, [c.thread_id.in_(ids[i : i + CHUNK]), c.last_import_id.in_(list(import_ids)), c.updated_at == now]
        )
        if not rows:
            continue
        first = _first_comments(conn, {r.author for r in rows if r.author}) if wants_authors else {}
        new += _merge(conn, rows, match(rows, matchers, first), by_id, now)
    return new


def rerun(conn: Connection, *, now: datetime | None = None) -> dict[str, int]:
    """Run every enabled rule over every stored comment again (after rules changed): hits
    of disabled or deleted rules go, hits of edited rules are recomputed."""
    now = now or _now()
    rules = rule_list(conn, enabled_only=True)
    matchers = compile_rules(rules)
    by_id = {r.id: r for r in rules if r.id is not None}
    enabled = list(by_id)
    h, c = t.rule_hits.c, t.comments.c
    dropped = conn.execute(delete(t.rule_hits).where(h.rule_id.not_in(enabled) if enabled else true())).rowcount or 0
    first: dict[str, int] = {}
    if any(m.rule.kind == "new_author" for m in matchers):
        query = (
            select(c.author, func.min(c.pk))
            .where(c.author.is_not(None), c.author_inferred.is_(False), c.kind == "comment")
            .group_by(c.author)
        )
        first = {a: int(pk) for a, pk in conn.execute(query)}
    last, comments, added, total = 0, 0, 0, 0
    while matchers:
        rows = _candidates(conn, [c.pk > last], limit=2000)
        if not rows:
            break
        last = rows[-1].pk
        comments += len(rows)
        found = match(rows, matchers, first)
        total += len(found)
        added += len(_merge(conn, rows, found, by_id, now))
    return {"comments": comments, "hits": total, "new": added, "dropped": int(dropped)}


# ---------------------------------------------------------------------------- on a Store
def list_rules(store: Database) -> list[dict[str, Any]]:
    """Every rule with how many comments it flags, for the Rules page."""
    with store.read() as conn:
        counts = hit_counts(conn)
        return [{**r.__dict__, "hits": counts.get(r.id or 0, 0)} for r in rule_list(conn)]


def save_rule(store: Database, rule: Rule) -> int:
    """Add ``rule`` (no id) or replace the stored one with its id; returns the id."""
    clean = validate(rule)  # before taking the write lock
    with store.write() as conn:
        if clean.id is None:
            return add_rule(conn, clean)
        update_rule(conn, clean.id, clean)
        return clean.id


def save_rules(store: Database, rules: Sequence[Rule]) -> list[int]:
    """Add several new rules in one transaction (all validated first: none or all stored)."""
    clean = [validate(r) for r in rules]
    with store.write() as conn:
        return [add_rule(conn, r) for r in clean]


def get_rule(store: Database, rule_id: int) -> Rule:
    with store.read() as conn:
        row = conn.execute(select(t.rules).where(t.rules.c.id == rule_id)).first()
    if row is None:
        raise RuleError(f"no rule {rule_id}")
    return _rule(row)


def _existing(conn: Connection, rule_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(rule_ids))
    have = set(conn.execute(select(t.rules.c.id).where(t.rules.c.id.in_(ids))).scalars())
    for i in ids:
        if i not in have:
            raise RuleError(f"no rule {i}")
    return ids


def set_enabled(store: Database, rule_id: int | Sequence[int], enabled: bool) -> None:
    """Enable or disable one rule or several (all or none: RuleError naming a missing one)."""
    with store.write() as conn:
        ids = _existing(conn, [rule_id] if isinstance(rule_id, int) else rule_id)
        conn.execute(update(t.rules).where(t.rules.c.id.in_(ids)).values(enabled=enabled, updated_at=_now()))


def remove_rule(store: Database, rule_id: int | Sequence[int]) -> None:
    """Delete one rule or several with their flags (all or none)."""
    with store.write() as conn:
        for i in _existing(conn, [rule_id] if isinstance(rule_id, int) else rule_id):
            delete_rule(conn, i)


def dry_run(store: Database, rule: Rule, thread_id: str, *, ignore_scope: bool = False) -> dict[str, Any]:
    """What ``rule`` (stored or not, enabled or not) would flag in one stored thread, writing
    nothing: {"in_scope", "comments", "flagged": [{comment_id, author, reason, text}]}.
    A new-author rule reads the whole store's history, as it would on import."""
    clean = validate(rule)
    # matched as if enabled and everywhere; the scope is checked (and reported) once, here
    probe = Matcher(replace(clean, id=clean.id if clean.id is not None else 0, enabled=True, scope="all"))
    with store.read() as conn:
        th = conn.execute(select(t.threads.c.source, t.threads.c.format).where(t.threads.c.id == thread_id)).first()
        if th is None:
            raise RuleError(f"no thread {thread_id!r} in the store")
        scoped = in_scope(clean.scope, thread_id, th.source, th.format)
        rows = _candidates(conn, [t.comments.c.thread_id == thread_id])
        first: dict[str, int] = {}
        if clean.kind == "new_author" and (scoped or ignore_scope):
            first = _first_comments(conn, {r.author for r in rows if r.author})
    flagged: list[dict[str, Any]] = []
    if scoped or ignore_scope:
        found = match(rows, [probe], first)
        by_pk = {r.pk: r for r in rows}
        for (pk, _), reason in sorted(found.items()):
            row = by_pk[pk]
            flagged.append({"comment_id": row.comment_id, "author": row.author, "reason": reason, "text": row.text})
    return {"in_scope": scoped, "comments": len(rows), "flagged": flagged}


def rerun_rules(store: Database) -> dict[str, int]:
    """``rerun`` in one transaction, serialized with imports."""
    with store.write(lock=IMPORT_LOCK) as conn:
        return rerun(conn)
