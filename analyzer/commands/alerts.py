"""``analyzer alerts``: the webhook alerts of the dashboard's "Rules & alerts" page, from a
terminal or a script: the alert log, its delivery attempts, retries and sending now (the
webhooks they go to are ``alerts webhooks``, in ``commands.webhooks``).

Errors are one line (exit 2); thread ids, summaries and webhook names are printed through
``terminal_safe``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from analyzer.commands.moderation import DB, FORMAT, echo_json, echo_table, open_store, safe
from analyzer.commands.webhooks import webhooks
from analyzer.errors import AnalyzerError

STATUSES = ("pending", "sending", "delivered", "failed")


@click.group()
def alerts() -> None:
    """Webhook alerts: signed JSON POSTs when a thread's risk or toxic share crosses a
    threshold or rules flag new comments, with every delivery attempt logged."""


alerts.add_command(webhooks)  # `analyzer alerts webhooks ...`: where the alerts go


def _when(value: Any) -> str:
    return "-" if value is None else str(value)[:19]


@alerts.command("list")
@DB
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only alerts in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@FORMAT
def list_alerts(db: str | None, status: str | None, limit: int, fmt: str) -> None:
    """The newest alerts and how their delivery went."""
    from analyzer.store import alerts as store_alerts

    with open_store(db) as store, store.read() as conn:
        rows = store_alerts.recent(conn, limit=limit, status=status)
    if fmt == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo("no alerts" + (f" {status}" if status else " yet"))
        return
    echo_table(
        ("id", "created", "event", "thread", "status", "tries", "webhook", "last error"),
        [
            (
                str(r["id"]),
                _when(r["created_at"]),
                r["kind"],
                safe(r["thread_id"] or "-", 30),
                r["status"],
                str(r["attempts"]),
                safe(r["webhook"] or "(deleted)", 20),
                safe(r["last_error"] or "", 50),
            )
            for r in rows
        ],
    )


@alerts.command("show")
@DB
@click.argument("alert_id", type=int)
@FORMAT
def show_alert(db: str | None, alert_id: int, fmt: str) -> None:
    """One alert: its summary, payload and every delivery attempt."""
    from sqlalchemy import select

    from analyzer.store import alerts as store_alerts
    from analyzer.store import schema as t

    with open_store(db) as store, store.read() as conn:
        found = store_alerts.recent(conn, limit=1, ids=[alert_id])
        if not found:
            raise AnalyzerError(f"no alert {alert_id}")
        payload = conn.execute(select(t.alerts.c.payload).where(t.alerts.c.id == alert_id)).scalar()
        tries = store_alerts.attempts(conn, alert_id)
    alert = found[0]
    if fmt == "json":
        echo_json({**alert, "payload": payload, "attempts_log": tries})
        return
    click.echo(
        f"alert {alert['id']} ({alert['kind']}, thread {safe(alert['thread_id'] or '-', 60)}): "
        f"{safe(alert['summary'], 100)}; {alert['status']} after {alert['attempts']} attempt(s) "
        f"to webhook {safe(alert['webhook'] or '(deleted)', 40)}"
    )
    click.echo("payload: " + safe(json.dumps(payload, ensure_ascii=True, sort_keys=True, default=str), 2000))
    if tries:
        echo_table(
            ("attempt", "at", "ok", "status", "seconds", "error"),
            [
                (
                    str(a["attempt"]),
                    _when(a["at"]),
                    "yes" if a["ok"] else "no",
                    str(a["status_code"] or "-"),
                    f"{a['seconds']:.2f}",
                    safe(a["error"] or "", 60),
                )
                for a in tries
            ],
        )


def _send(store: Any) -> None:
    from analyzer.store import alerts as store_alerts

    delivered = store_alerts.Deliverer(store.engine).drain()
    with store.read() as conn:
        failed = len(store_alerts.failed_ids(conn))
    click.echo(
        f"{delivered} alert(s) delivered" + (f"; {failed} failed (see `analyzer alerts list`)" if failed else "")
    )


@alerts.command("retry")
@DB
@click.argument("alert_ids", nargs=-1, type=int, metavar="[ID...]")
@click.option("--failed", "all_failed", is_flag=True, help="Every failed alert whose webhook still exists.")
@click.option("--no-send", is_flag=True, help="Only put them back in the outbox (the next import sends them).")
def retry_alerts(db: str | None, alert_ids: tuple[int, ...], all_failed: bool, no_send: bool) -> None:
    """Send failed alerts again, with a fresh round of attempts (now, unless --no-send)."""
    from analyzer.store import alerts as store_alerts
    from analyzer.store.database import IMPORT_LOCK

    if bool(alert_ids) == all_failed:
        raise AnalyzerError("give alert IDs or --failed")
    with open_store(db) as store:
        with store.write(lock=IMPORT_LOCK) as conn:
            ids = store_alerts.requeue(conn, store_alerts.failed_ids(conn) if all_failed else alert_ids)
        if not ids:
            click.echo("no failed alerts to retry")
            return
        click.echo(f"alert(s) {', '.join(map(str, ids))} back in the outbox")
        if not no_send:
            _send(store)


@alerts.command("send")
@DB
def send_alerts(db: str | None) -> None:
    """Deliver the pending alerts now (imports do this by themselves, in the background)."""
    with open_store(db) as store:
        _send(store)
