"""Delivering alerts to webhooks: a JSON POST signed with the webhook's shared secret,
retried with exponential backoff a bounded number of times, every attempt logged in the
store (``alert_attempts``).

Alerts are written by imports into the store's outbox (``store.alerts``); once an import
commits, ``wake(engine)`` starts (or nudges) one background thread per store that claims
pending alerts under the import lock (so it waits for the writer and sees only committed
rows) and delivers them. An import never waits for a webhook. A process about to exit
waits at most ``$THREAD_ANALYZER_ALERT_FLUSH`` seconds (30) for deliveries in flight;
alerts left pending are delivered by the next process that drains the store.

Signature: ``X-Thread-Analyzer-Signature-256: sha256=<hex>``, the HMAC-SHA256 under the
secret of ``<X-Thread-Analyzer-Timestamp> + "." + <body bytes>``; receivers recompute it
(``verify``) and may refuse old timestamps.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

SIGNATURE = "X-Thread-Analyzer-Signature-256"
TIMESTAMP = "X-Thread-Analyzer-Timestamp"
EVENT = "X-Thread-Analyzer-Event"
DELIVERY = "X-Thread-Analyzer-Delivery"
ENV_ATTEMPTS = "THREAD_ANALYZER_ALERT_ATTEMPTS"
ENV_BACKOFF = "THREAD_ANALYZER_ALERT_BACKOFF"
ENV_TIMEOUT = "THREAD_ANALYZER_ALERT_TIMEOUT"
ENV_FLUSH = "THREAD_ANALYZER_ALERT_FLUSH"
MAX_ATTEMPTS = 10


def _env_float(name: str, default: float, low: float, high: float) -> float:
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return min(max(value, low), high)


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts per alert, the first wait (doubled each time, capped), and
    the time one request may take."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float = 5.0

    @classmethod
    def from_env(cls) -> Policy:
        return cls(
            attempts=int(_env_float(ENV_ATTEMPTS, 4, 1, MAX_ATTEMPTS)),
            backoff=_env_float(ENV_BACKOFF, 0.5, 0.0, 60.0),
            timeout=_env_float(ENV_TIMEOUT, 5.0, 0.1, 60.0),
        )

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``."""
        base = self.backoff * (2 ** (attempt - 1))
        if retry_after is not None:
            base = max(base, retry_after)
        return min(base, self.max_backoff)


def body_of(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def deliver_one(
    client: Any,
    alert: Mapping[str, Any],
    policy: Policy,
    record: Callable[..., None],
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST one alert until it is accepted (2xx), refused (4xx other than 408/429) or out of
    attempts; ``record(attempt, ok=, status_code=, error=, seconds=, final=)`` logs each."""
    import httpx

    body = body_of(alert["payload"])
    start = int(alert.get("attempts") or 0)
    for attempt in range(start + 1, max(policy.attempts, start + 1) + 1):
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "thread-analyzer-alerts",
            EVENT: str(alert["kind"]),
            DELIVERY: str(alert["id"]),
            TIMESTAMP: timestamp,
            SIGNATURE: sign(alert["secret"], timestamp, body),
        }
        began = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after = None
        try:
            response = client.post(alert["url"], content=body, headers=headers)
            status = response.status_code
            retry_after = _retry_after(response)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        ok = error is None
        retryable = not ok and (status is None or status >= 500 or status in (408, 429))
        final = ok or not retryable or attempt >= policy.attempts
        record(attempt, ok=ok, status_code=status, error=error, seconds=time.monotonic() - began, final=final)
        if final:
            return ok
        sleep(policy.wait(attempt, retry_after))
    return False


class Deliverer:
    """Drains one store's outbox; ``drain()`` runs in the caller, ``wake()`` in a
    background thread (one at a time)."""

    def __init__(self, engine: Engine, policy: Policy | None = None) -> None:
        self.engine = engine
        self.policy = policy or Policy.from_env()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def _store(self) -> Any:
        from analyzer.store import Store

        return Store(self.engine)  # no I/O; shares the engine (never closed here)

    def drain(self) -> int:
        """Deliver every pending alert; returns how many were delivered."""
        import httpx

        from analyzer.store import alerts as outbox
        from analyzer.store.database import IMPORT_LOCK

        store = self._store()
        delivered = 0
        with httpx.Client(timeout=self.policy.timeout, follow_redirects=False) as client:
            while True:
                with store._write(lock=IMPORT_LOCK) as conn:  # waits for an import still writing
                    batch = outbox.claim(conn)
                if not batch:
                    return delivered
                for alert in batch:

                    def record(attempt: int, *, final: bool, _id: int = alert["id"], **kw: Any) -> None:
                        with store._write() as conn:
                            outbox.log_attempt(conn, _id, attempt, final=final, **kw)

                    delivered += deliver_one(client, alert, self.policy, record)

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
    limit = _env_float(ENV_FLUSH, 30.0, 0.0, 600.0) if timeout is None else timeout
    deadline = time.monotonic() + limit
    done = True
    for d in list(_deliverers.values()):
        done = d.join(max(0.0, deadline - time.monotonic())) and done
    return done
