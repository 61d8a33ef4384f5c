"""The alerts outbox: alert rows waiting to be sent, every delivery attempt logged, and the
``Deliverer`` that drains them.

Rows are written by an import (``store.alerts.ImportWatch``) in its own transaction; when
it commits, ``wake`` starts a background drain (``analyzer.alerts``: signed, retried, each
attempt logged here), off the import's critical path. The drain claims rows under the
import lock, so it waits for the writer and only ever reads committed ones. A process about
to exit waits at most ``$THREAD_ANALYZER_ALERT_FLUSH`` seconds (30) for deliveries in
flight (``flush``); alerts left pending are sent by the next drain of the store.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from analyzer.alerts import Policy, SecretError, deliver_one, env_float, http_client, reveal
from analyzer.errors import AnalyzerError
from analyzer.store import schema as t

if TYPE_CHECKING:
    from analyzer.store.database import Database

STALE_CLAIM = timedelta(minutes=10)  # a "sending" row older than this was left by a process that died
ENV_FLUSH = "THREAD_ANALYZER_ALERT_FLUSH"
log = logging.getLogger("analyzer.store.alerts")  # the name it has always logged under

__all__ = [
    "ENV_FLUSH",
    "STALE_CLAIM",
    "Deliverer",
    "attempts",
    "claim",
    "deliverer",
    "failed_ids",
    "flush",
    "log_attempt",
    "recent",
    "recent_alerts",
    "requeue",
    "wake",
]


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
