"""Alerts in the store: which ones an import raises, written to the outbox in the import's
own transaction.

An import (``Importer.run``, and so the service's ``store_traffic`` too) opens an
``ImportWatch`` before it writes and finishes it after its comments are stored, in the same
transaction: the rules run over the new comments (``store.rules``), and each webhook
(``store.webhooks``) gets an alert row when a thread's risk or toxic share crosses its
threshold or new comments are flagged. The rows are the outbox (``store.outbox``): a
rolled-back import leaves none. When the transaction commits, a background ``Deliverer`` is
woken to send them, off the import's critical path.

The webhooks' and the outbox's names are importable from here too, as they always were.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event, insert, select

from analyzer.rules import in_scope
from analyzer.store import rules as store_rules
from analyzer.store import schema as t
from analyzer.store.outbox import (
    ENV_FLUSH,
    STALE_CLAIM,
    Deliverer,
    attempts,
    claim,
    deliverer,
    failed_ids,
    flush,
    log_attempt,
    recent,
    recent_alerts,
    requeue,
    wake,
)
from analyzer.store.webhooks import (
    MAX_URL,
    MIN_SECRET,
    add_webhook,
    check_webhook,
    list_webhooks,
    new_secret,
    remove_webhook,
    save_webhook,
    seal_secrets,
    set_webhook_enabled,
    webhook_list,
)

MAX_HITS_IN_PAYLOAD = 50
CHUNK = 500

__all__ = [
    "CHUNK",
    "ENV_FLUSH",
    "MAX_HITS_IN_PAYLOAD",
    "MAX_URL",
    "MIN_SECRET",
    "STALE_CLAIM",
    "Deliverer",
    "ImportWatch",
    "add_webhook",
    "attempts",
    "check_webhook",
    "claim",
    "deliverer",
    "failed_ids",
    "flush",
    "list_webhooks",
    "log_attempt",
    "new_secret",
    "recent",
    "recent_alerts",
    "remove_webhook",
    "requeue",
    "save_webhook",
    "seal_secrets",
    "set_webhook_enabled",
    "wake",
    "webhook_list",
]


def _stats(conn: Connection, thread_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    s, th = t.thread_stats.c, t.threads.c
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(thread_ids), CHUNK):
        query = (
            select(th.id, th.title, th.source, th.format, s.risk, s.toxic_share, s.comments, s.toxic)
            .join(t.thread_stats, s.thread_id == th.id)
            .where(th.id.in_(thread_ids[i : i + CHUNK]))
        )
        out.update((r.id, dict(r._mapping)) for r in conn.execute(query))
    return out


def _crossed(before: float | None, after: float | None, threshold: float | None) -> bool:
    """Whether a value went from below ``threshold`` (or nothing) to at or above it."""
    if threshold is None or after is None or after < threshold:
        return False
    return before is None or before < threshold


# ---------------------------------------------------------------------------- the import hook
class ImportWatch:
    """The import's hook: ``ImportWatch(conn, thread ids, now)`` before writing (reads the
    statistics alerts compare against), ``finish(import ids)`` after (rules, alert rows)."""

    def __init__(self, conn: Connection, thread_ids: Sequence[str], now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.thread_ids = list(dict.fromkeys(thread_ids))
        self.hooks = webhook_list(conn, enabled_only=True)
        wants_stats = any(h["risk_threshold"] is not None or h["toxic_share_threshold"] is not None for h in self.hooks)
        self.before = _stats(conn, self.thread_ids) if wants_stats else {}
        self.hits: list[store_rules.Hit] = []
        self.alerts = 0

    def finish(self, import_ids: Sequence[int]) -> None:
        self.hits = store_rules.apply_after_import(self.conn, self.thread_ids, import_ids, self.now)
        if not self.hooks:
            return
        after = _stats(self.conn, self.thread_ids)
        hits_by_thread: dict[str, list[store_rules.Hit]] = {}
        for hit in self.hits:
            hits_by_thread.setdefault(hit.thread_id, []).append(hit)
        rows: list[dict[str, Any]] = []
        for hook in self.hooks:
            for tid in self.thread_ids:
                info = after.get(tid)
                if info is None or not in_scope(hook["scope"], tid, info["source"], info["format"]):
                    continue
                old = self.before.get(tid) or {}
                for kind, column, threshold in (
                    ("risk", "risk", hook["risk_threshold"]),
                    ("toxic_share", "toxic_share", hook["toxic_share_threshold"]),
                ):
                    if _crossed(old.get(column), info[column], threshold):
                        rows.append(self._row(hook, kind, info, threshold=threshold, previous=old.get(column)))
                if hook["on_rule_hits"] and tid in hits_by_thread:
                    rows.append(self._row(hook, "rule_hits", info, hits=hits_by_thread[tid]))
        if rows:
            self.conn.execute(insert(t.alerts), rows)
            self.alerts = len(rows)
            engine = self.conn.engine
            # deliver once the transaction commits (never for a rollback: no listener fires, no rows exist)
            event.listen(self.conn, "commit", lambda _conn: wake(engine), once=True)

    def _row(
        self,
        hook: dict[str, Any],
        kind: str,
        info: dict[str, Any],
        *,
        threshold: float | None = None,
        previous: float | None = None,
        hits: Sequence[store_rules.Hit] = (),
    ) -> dict[str, Any]:
        event_id = uuid.uuid4().hex
        thread = {
            "id": info["id"],
            "title": info["title"],
            "source": info["source"],
            "format": info["format"],
            "comments": info["comments"],
            "toxic": info["toxic"],
            "risk": info["risk"],
            "toxic_share": info["toxic_share"],
        }
        payload: dict[str, Any] = {
            "event": kind,
            "event_id": event_id,
            "created_at": self.now.isoformat(),
            "thread": thread,
        }
        if kind == "rule_hits":
            payload["hits_total"] = len(hits)
            payload["hits"] = [
                {"comment_id": h.comment_id, "rule": h.rule, "severity": h.severity, "reason": h.reason}
                for h in hits[:MAX_HITS_IN_PAYLOAD]
            ]
            summary = f"{len(hits)} comment(s) flagged by rules"
        else:
            value = info[kind]
            payload.update(threshold=threshold, value=value, previous=previous)
            name = "risk" if kind == "risk" else "toxic share"
            summary = f"{name} {value:.2f} crossed {threshold:.2f}"
        return {
            "event_id": event_id,
            "kind": kind,
            "thread_id": info["id"],
            "summary": summary,
            "payload": payload,
            "webhook_id": hook["id"],
            "url": hook["url"],
            "status": "pending",
            "attempts": 0,
            "created_at": self.now,
        }
