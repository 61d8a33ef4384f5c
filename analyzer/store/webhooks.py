"""Webhooks in the store: where alerts go, checked before they are stored, their shared
secrets kept sealed (``analyzer.alerts.seal``: encrypted, or an ``env:NAME`` reference).

The alerts sent to them are in the outbox (``store.outbox``); which ones an import raises,
``store.alerts``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update

from analyzer.alerts import SecretError, check_reference, is_reference, is_sealed, reveal, seal
from analyzer.errors import AnalyzerError
from analyzer.rules import canonical_scope
from analyzer.store import schema as t

if TYPE_CHECKING:
    from analyzer.store.database import Database

MAX_URL = 2000
MIN_SECRET = 16

__all__ = [
    "MAX_URL",
    "MIN_SECRET",
    "add_webhook",
    "check_webhook",
    "list_webhooks",
    "new_secret",
    "remove_webhook",
    "save_webhook",
    "seal_secrets",
    "set_webhook_enabled",
    "webhook_list",
]


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
            created_at=datetime.now(timezone.utc),
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
