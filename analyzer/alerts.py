"""Sending one alert to a webhook: a JSON POST signed with the webhook's shared secret,
retried with exponential backoff a bounded number of times, each attempt reported to the
caller (the store logs it: ``store.alerts``, which also holds the outbox and the
background deliverer). Nothing here touches the store.

Signature: ``X-Thread-Analyzer-Signature-256: sha256=<hex>``, the HMAC-SHA256 under the
secret of ``<X-Thread-Analyzer-Timestamp> + "." + <body bytes>``; receivers recompute it
(``verify``) and may refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SIGNATURE = "X-Thread-Analyzer-Signature-256"
TIMESTAMP = "X-Thread-Analyzer-Timestamp"
EVENT = "X-Thread-Analyzer-Event"
DELIVERY = "X-Thread-Analyzer-Delivery"
ENV_ATTEMPTS = "THREAD_ANALYZER_ALERT_ATTEMPTS"
ENV_BACKOFF = "THREAD_ANALYZER_ALERT_BACKOFF"
ENV_TIMEOUT = "THREAD_ANALYZER_ALERT_TIMEOUT"
MAX_ATTEMPTS = 10


def env_float(name: str, default: float, low: float, high: float) -> float:
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
            attempts=int(env_float(ENV_ATTEMPTS, 4, 1, MAX_ATTEMPTS)),
            backoff=env_float(ENV_BACKOFF, 0.5, 0.0, 60.0),
            timeout=env_float(ENV_TIMEOUT, 5.0, 0.1, 60.0),
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


def http_client(policy: Policy) -> Any:
    """An httpx client for webhooks: the policy's timeout, redirects not followed (a
    redirect is an answer, never a second destination for the payload)."""
    import httpx

    return httpx.Client(timeout=policy.timeout, follow_redirects=False)


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
