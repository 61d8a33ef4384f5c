"""``analyzer alerts webhooks``: where alerts go. Webhook names and URLs are printed through
``terminal_safe``; secrets never are, except a secret made by ``alerts webhooks add``,
printed once so the receiver can be given it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from analyzer.commands.moderation import DB, FORMAT, SCOPE, echo_json, echo_table, open_store, safe
from analyzer.errors import AnalyzerError, InputError
from analyzer.rules import ALL


@click.group()
def webhooks() -> None:
    """Where alerts go. Secrets are kept encrypted (or as an env:NAME reference), never shown."""


@webhooks.command("list")
@DB
@FORMAT
def list_webhooks(db: str | None, fmt: str) -> None:
    """The webhooks: thresholds, scope and where each secret lives (never the secret)."""
    from analyzer.alerts import describe_secret
    from analyzer.store import alerts as store_alerts

    with open_store(db) as store:
        hooks = store_alerts.list_webhooks(store)
    for h in hooks:
        h["secret"] = describe_secret(h["secret"])
    if fmt == "json":
        echo_json(hooks)
        return
    if not hooks:
        click.echo("no webhooks yet (add one with `analyzer alerts webhooks add`)")
        return
    echo_table(
        ("id", "on", "name", "url", "risk>=", "share>=", "flags", "scope", "secret"),
        [
            (
                str(h["id"]),
                "yes" if h["enabled"] else "no",
                safe(h["name"], 20),
                safe(h["url"], 50),
                "-" if h["risk_threshold"] is None else f"{h['risk_threshold']:.2f}",
                "-" if h["toxic_share_threshold"] is None else f"{h['toxic_share_threshold']:.2f}",
                "yes" if h["on_rule_hits"] else "no",
                safe(h["scope"].replace("\n", ", "), 30),
                safe(h["secret"], 40),
            )
            for h in hooks
        ],
    )


def _read_secret(path: str) -> str:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the secret: {exc.strerror}", source=path) from None
    except UnicodeDecodeError:
        raise InputError("the secret is not UTF-8 text", source=path) from None
    secret = text.strip()
    if "\n" in secret:
        raise InputError("the secret file holds more than one line", source=path)
    return secret


@webhooks.command("add")
@DB
@click.option("--url", required=True, help="An http:// or https:// address that takes the POSTs.")
@click.option("--name", default="", help="A name for lists (default: the URL's host).")
@click.option(
    "--secret-env", default=None, metavar="NAME", help="Sign with the environment variable NAME (stored as a name)."
)
@click.option(
    "--secret-file",
    default=None,
    metavar="FILE",
    help="Sign with the secret in FILE ('-': standard input); stored encrypted.",
)
@click.option("--risk", type=click.FloatRange(0, 1), default=None, help="Alert when a thread's risk reaches this.")
@click.option(
    "--toxic-share", type=click.FloatRange(0, 1), default=None, help="Alert when its toxic share reaches this."
)
@click.option("--no-rule-hits", is_flag=True, help="No alert for newly flagged comments.")
@SCOPE
def add_webhook(
    db: str | None,
    url: str,
    name: str,
    secret_env: str | None,
    secret_file: str | None,
    risk: float | None,
    toxic_share: float | None,
    no_rule_hits: bool,
    scopes: tuple[str, ...],
) -> None:
    """Add a webhook. Without --secret-env or --secret-file a secret is made and printed
    once (copy it to the receiver now: it is stored encrypted and never shown again)."""
    from analyzer.store import alerts as store_alerts

    if secret_env is not None and secret_file is not None:
        raise AnalyzerError("give --secret-env or --secret-file, not both")
    made = None
    if secret_env is not None:
        secret = "env:" + secret_env
    elif secret_file is not None:
        secret = _read_secret(secret_file)
    else:
        secret = made = store_alerts.new_secret()
    with open_store(db) as store:
        hook_id = store_alerts.save_webhook(
            store,
            name=name,
            url=url,
            secret=secret,
            risk_threshold=risk,
            toxic_share_threshold=toxic_share,
            on_rule_hits=not no_rule_hits,
            scope="\n".join(scopes) or ALL,
        )
    where = f"${secret_env} where alerts are sent" if secret_env else "encrypted"
    click.echo(f"added webhook {hook_id} ({safe(url, 80)}); its secret is kept {where}", err=made is not None)
    if made is not None:
        click.echo("its shared secret (shown once, give it to the receiver):", err=True)
        click.echo(made)


@webhooks.command("remove")
@DB
@click.argument("webhook_id", type=int)
def remove_webhook(db: str | None, webhook_id: int) -> None:
    """Delete a webhook (its alerts stay in the log; pending ones are marked failed)."""
    from analyzer.store import alerts as store_alerts

    with open_store(db) as store:
        store_alerts.remove_webhook(store, webhook_id)
    click.echo(f"removed webhook {webhook_id}")


def _set_enabled(db: str | None, webhook_id: int, enabled: bool) -> None:
    from analyzer.store import alerts as store_alerts

    with open_store(db) as store:
        store_alerts.set_webhook_enabled(store, webhook_id, enabled)
    click.echo(f"webhook {webhook_id} {'enabled' if enabled else 'disabled'}")


@webhooks.command("disable")
@DB
@click.argument("webhook_id", type=int)
def disable_webhook(db: str | None, webhook_id: int) -> None:
    """Stop sending alerts to a webhook, keeping it."""
    _set_enabled(db, webhook_id, False)


@webhooks.command("enable")
@DB
@click.argument("webhook_id", type=int)
def enable_webhook(db: str | None, webhook_id: int) -> None:
    """Send alerts to a webhook again."""
    _set_enabled(db, webhook_id, True)


@webhooks.command("seal")
@DB
def seal_webhook_secrets(db: str | None) -> None:
    """Encrypt webhook secrets that an older version stored in the clear (any webhook
    change does this too)."""
    from analyzer.alerts import key_file
    from analyzer.store import alerts as store_alerts

    with open_store(db) as store, store.write() as conn:
        n = store_alerts.seal_secrets(conn)
    click.echo(
        f"{n} plaintext secret(s) encrypted" + (f" (key: {key_file()} or $THREAD_ANALYZER_SECRET_KEY)" if n else "")
    )
