"""Alerts in the store: the webhooks they go to, and an outbox of alerts with every delivery
attempt logged.

An import (``Importer.run``, and so the service's ``store_traffic`` too) opens an
``ImportWatch`` before it writes and finishes it after its comments are stored, in the same
transaction: the rules run over the new comments (``store.rules``), and each webhook gets an
alert row when a thread's risk or toxic share crosses its threshold or new comments are
flagged. The rows are the outbox: a rolled-back import leaves none. When the transaction
commits, a background ``Deliverer`` is woken to send them (``analyzer.alerts``: signed,
retried, each attempt logged here), off the import's critical path; it claims rows under
the import lock, so it waits for the writer and only ever reads committed ones. A process
about to exit waits at most ``$THREAD_ANALYZER_ALERT_FLUSH`` seconds (30) for deliveries in
flight; alerts left pending are sent by the next drain of the store.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, delete, event, insert, select, update

from analyzer.alerts import (
    Policy,
    SecretError,
    check_reference,
    deliver_one,
    env_float,
    http_client,
    is_reference,
    is_sealed,
    reveal,
    seal,
)
from analyzer.errors import AnalyzerError
from analyzer.rules import canonical_scope, in_scope
from analyzer.store import rules as store_rules
from analyzer.store import schema as t

if TYPE_CHECKING:
    from analyzer.store.database import Database

MAX_HITS_IN_PAYLOAD = 50
MAX_URL = 2000
MIN_SECRET = 16
STALE_CLAIM = timedelta(minutes=10)  # a "sending" row older than this was left by a process that died
CHUNK = 500
ENV_FLUSH = "THREAD_ANALYZER_ALERT_FLUSH"
log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------- webhooks
def check_webhook(url: str, secret: str, risk: float | None, toxic_share: float | None) -> None:
    """AnalyzerError unless the webhook can be stored as given (``secret`` in the clear, or
    an ``env:NAME`` reference, checked when the variable is set here)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        raise AnalyzerError("a webhook URL must be an http:// or https:// address")
    if is_reference(secret):
        check_reference(secret)
        try:
            secret = reveal(secret)
        except SecretError:
            secret = "x" * MIN_SECRET  # set where the alerts are delivered, maybe not here
    if len(secret) < MIN_SECRET:
        raise AnalyzerError(f"a webhook's shared secret needs at least {MIN_SECRET} characters")
    for name, value in (("risk", risk), ("toxic share", toxic_share)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise AnalyzerError(f"the {name} threshold must be between 0 and 1")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def add_webhook(
    conn: Connection,
    *,
    name: str,
    url: str,
    secret: str | None = None,
    risk_threshold: float | None = None,
    toxic_share_threshold: float | None = None,
    on_rule_hits: bool = True,
    scope: str = "all",
    enabled: bool = True,
) -> int:
    """Store a webhook; returns its id (a secret is made when none is given). The secret is
    kept sealed (``analyzer.alerts.seal``: encrypted, or the env:NAME reference as given)."""
    secret = secret or new_secret()
    check_webhook(url, secret, risk_threshold, toxic_share_threshold)
    scope = canonical_scope(scope, strict=True)
    sealed = seal(secret)
    seal_secrets(conn)  # the one-time upgrade of secrets stored in the clear by older versions
    result = conn.execute(
        insert(t.webhooks).values(
            name=" ".join(name.split())[:200] or urlsplit(url).hostname,
            url=url.strip(),
            secret=sealed,
            risk_threshold=risk_threshold,
            toxic_share_threshold=toxic_share_threshold,
            on_rule_hits=on_rule_hits,
            scope=scope,
            enabled=enabled,
            created_at=_now(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]  # set by every INSERT


def webhook_list(conn: Connection, *, enabled_only: bool = False) -> list[dict[str, Any]]:
    """The webhooks, scopes in their explicit form; ``secret`` is the stored (sealed) value."""
    query = select(t.webhooks).order_by(t.webhooks.c.id)
    if enabled_only:
        query = query.where(t.webhooks.c.enabled.is_(True))
    return [{**r._mapping, "scope": canonical_scope(r.scope or "all")} for r in conn.execute(query)]


def seal_secrets(conn: Connection) -> int:
    """Encrypt the secrets an older version stored in the clear; returns how many."""
    w = t.webhooks.c
    done = 0
    for row in conn.execute(select(w.id, w.secret)).all():
        if not is_sealed(row.secret or ""):
            conn.execute(update(t.webhooks).where(w.id == row.id).values(secret=seal(row.secret)))
            done += 1
    return done


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


# ---------------------------------------------------------------------------- the outbox
def claim(conn: Connection, *, limit: int = 100, now: datetime | None = None) -> list[dict[str, Any]]:
    """Pending alerts (and ones a dead process left "sending"), marked "sending", each with
    its webhook's secret; the caller holds the import lock, so only committed rows are seen."""
    now = now or _now()
    a, w = t.alerts.c, t.webhooks.c
    query = (
        select(a.id, a.kind, a.payload, a.url, a.attempts, w.secret)
        .join(t.webhooks, w.id == a.webhook_id)
        .where((a.status == "pending") | ((a.status == "sending") & (a.created_at < now - STALE_CLAIM)))
        .order_by(a.id)
        .limit(limit)
    )
    rows = [dict(r._mapping) for r in conn.execute(query)]
    if rows:
        conn.execute(update(t.alerts).where(a.id.in_([r["id"] for r in rows])).values(status="sending"))
    return rows


def log_attempt(
    conn: Connection,
    alert_id: int,
    attempt: int,
    *,
    ok: bool,
    status_code: int | None,
    error: str | None,
    seconds: float,
    final: bool,
    at: datetime | None = None,
) -> None:
    """Record one delivery attempt, and the alert's state after it."""
    at = at or _now()
    conn.execute(
        insert(t.alert_attempts).values(
            alert_id=alert_id,
            attempt=attempt,
            at=at,
            status_code=status_code,
            error=(error or None) and error[:1000],
            ok=ok,
            seconds=seconds,
        )
    )
    status = "delivered" if ok else ("failed" if final else "sending")
    conn.execute(
        update(t.alerts)
        .where(t.alerts.c.id == alert_id)
        .values(
            status=status,
            attempts=attempt,
            last_status_code=status_code,
            last_error=(error or None) and error[:1000],
            delivered_at=at if ok else None,
        )
    )


def recent(
    conn: Connection, *, limit: int = 20, status: str | None = None, ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """The newest alerts with their webhook's name (for the Overview and ``analyzer alerts``),
    only those with ``status`` or among ``ids`` when given."""
    a, w = t.alerts.c, t.webhooks.c
    query = (
        select(
            a.id,
            a.created_at,
            a.kind,
            a.thread_id,
            a.summary,
            a.status,
            a.attempts,
            a.last_status_code,
            a.last_error,
            w.name.label("webhook"),
        )
        .outerjoin(t.webhooks, w.id == a.webhook_id)
        .order_by(a.created_at.desc(), a.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(a.status == status)
    if ids is not None:
        query = query.where(a.id.in_(list(ids)))
    return [dict(r._mapping) for r in conn.execute(query)]


def attempts(conn: Connection, alert_id: int) -> list[dict[str, Any]]:
    """An alert's delivery attempts in the order they were made (a retry starts again at 1)."""
    c = t.alert_attempts.c
    query = select(t.alert_attempts).where(c.alert_id == alert_id).order_by(c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


def requeue(conn: Connection, alert_ids: Sequence[int]) -> list[int]:
    """Put failed alerts back in the outbox for a fresh round of attempts (their log stays);
    AnalyzerError naming the first that is missing, not failed, or lost its webhook."""
    a = t.alerts.c
    ids = list(dict.fromkeys(alert_ids))
    found = {int(r.id): r for r in conn.execute(select(a.id, a.status, a.webhook_id).where(a.id.in_(ids))).all()}
    for i in ids:
        row = found.get(i)
        if row is None:
            raise AnalyzerError(f"no alert {i}")
        if row.status != "failed":
            raise AnalyzerError(f"alert {i} is {row.status}; only failed alerts are retried")
        if row.webhook_id is None:
            raise AnalyzerError(f"alert {i}'s webhook was deleted; it cannot be sent again")
    if ids:
        conn.execute(update(t.alerts).where(a.id.in_(ids)).values(status="pending", attempts=0))
    return ids


def failed_ids(conn: Connection) -> list[int]:
    """Failed alerts whose webhook still exists, oldest first."""
    a = t.alerts.c
    query = select(a.id).where(a.status == "failed", a.webhook_id.is_not(None)).order_by(a.id)
    return [int(i) for i in conn.execute(query).scalars()]


# ---------------------------------------------------------------------------- on a Store
def list_webhooks(store: Database) -> list[dict[str, Any]]:
    with store.read() as conn:
        return webhook_list(conn)


def save_webhook(store: Database, **values: Any) -> int:
    """``add_webhook`` in its own transaction."""
    with store.write() as conn:
        return add_webhook(conn, **values)


def set_webhook_enabled(store: Database, webhook_id: int, enabled: bool) -> None:
    with store.write() as conn:
        done = conn.execute(update(t.webhooks).where(t.webhooks.c.id == webhook_id).values(enabled=enabled))
        if not done.rowcount:
            raise AnalyzerError(f"no webhook {webhook_id}")
        seal_secrets(conn)


def remove_webhook(store: Database, webhook_id: int) -> None:
    """Delete a webhook; its alerts stay in the log (without it)."""
    with store.write() as conn:
        if conn.execute(select(t.webhooks.c.id).where(t.webhooks.c.id == webhook_id)).first() is None:
            raise AnalyzerError(f"no webhook {webhook_id}")
        conn.execute(
            update(t.alerts)
            .where(t.alerts.c.webhook_id == webhook_id, t.alerts.c.status.in_(("pending", "sending")))
            .values(status="failed", last_error="webhook deleted")
        )
        conn.execute(delete(t.webhooks).where(t.webhooks.c.id == webhook_id))


def recent_alerts(store: Database, *, limit: int = 20) -> list[dict[str, Any]]:
    with store.read() as conn:
        return recent(conn, limit=limit)


# ---------------------------------------------------------------------------- delivery
class Deliverer:
    """Drains one store's outbox; ``drain()`` runs in the caller, ``wake()`` in a
    background thread (one at a time)."""

    def __init__(self, engine: Engine, policy: Policy | None = None) -> None:
        self.engine = engine
        self.policy = policy or Policy.from_env()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def _store(self) -> Database:
        from analyzer.store.database import Database

        return Database(self.engine)  # no I/O; shares the engine (never closed here)

    def drain(self) -> int:
        """Deliver every pending alert; returns how many were delivered."""
        from analyzer.store.database import IMPORT_LOCK

        store = self._store()
        delivered = 0
        with http_client(self.policy) as client:
            while True:
                with store.write(lock=IMPORT_LOCK) as conn:  # waits for an import still writing
                    batch = claim(conn)
                if not batch:
                    return delivered
                for alert in batch:

                    def record(attempt: int, *, final: bool, _id: int = alert["id"], **kw: Any) -> None:
                        with store.write() as conn:
                            log_attempt(conn, _id, attempt, final=final, **kw)

                    try:
                        secret = reveal(alert["secret"])
                    except SecretError as exc:  # logged as a failed attempt; `analyzer alerts retry` once fixed
                        attempt = int(alert["attempts"] or 0) + 1
                        record(attempt, ok=False, status_code=None, error=str(exc), seconds=0.0, final=True)
                        continue
                    delivered += deliver_one(client, {**alert, "secret": secret}, self.policy, record)

    def wake(self) -> None:
        """Drain in the background (again, if a drain is running now)."""
        with self._lock:
            if self._thread is not None:  # set to None, under this lock, only as it ends
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.drain()
            except Exception:  # the store went away or is busy: the alerts stay pending
                log.warning("alert delivery stopped; pending alerts are sent by the next drain", exc_info=True)
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the background drain; True when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True


_deliverers: dict[int, Deliverer] = {}
_registry_lock = threading.Lock()
_atexit_registered = False


def deliverer(engine: Engine) -> Deliverer:
    """The process's deliverer for ``engine``."""
    global _atexit_registered
    with _registry_lock:
        found = _deliverers.get(id(engine))
        if found is None or found.engine is not engine:
            found = _deliverers[id(engine)] = Deliverer(engine)
        if not _atexit_registered:
            atexit.register(flush)
            _atexit_registered = True
        return found


def wake(engine: Engine) -> None:
    """Called when an import that wrote alerts commits. In-memory SQLite stores (one shared
    connection) are left alone: call ``deliverer(engine).drain()`` there."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return
    deliverer(engine).wake()


def flush(timeout: float | None = None) -> bool:
    """Wait (at most ``timeout`` seconds, default $THREAD_ANALYZER_ALERT_FLUSH or 30) for
    background deliveries; True when all are done."""
    limit = env_float(ENV_FLUSH, 30.0, 0.0, 600.0) if timeout is None else timeout
    deadline = time.monotonic() + limit
    done = True
    for d in list(_deliverers.values()):
        done = d.join(max(0.0, deadline - time.monotonic())) and done
    return done
