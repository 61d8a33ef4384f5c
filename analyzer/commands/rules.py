"""``analyzer rules`` and ``analyzer alerts``: the moderation rules and webhook alerts of the
dashboard's "Rules & alerts" page, from a terminal or a script.

Every change is one transaction, checked before anything is written (a bad rule file
stores none of its rules); errors are one line (exit 2). Comment text, rule names and
webhook names are printed through ``terminal_safe``; webhook secrets never are, except a
secret made by ``alerts webhooks add``, printed once so the receiver can be given it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from analyzer.commands.ingest import DB_HELP
from analyzer.errors import AnalyzerError, InputError
from analyzer.rules import ALL, KINDS, SCOPE_HELP, SEVERITIES, Rule, RuleError

RULE_FIELDS = ("name", "kind", "severity", "pattern", "scope", "enabled")
MAX_RULE_FILE = 5_000_000  # bytes
STATUSES = ("pending", "sending", "delivered", "failed")
FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
DB = click.option("--db", default=None, metavar="URL", help=DB_HELP)
SCOPE = click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help=f"Where it applies (repeat for several; default all): {SCOPE_HELP}.",
)


@contextmanager
def _store(db: str | None) -> Iterator[Any]:
    from analyzer.store import Store

    with Store.open(db, create=False) as store:
        yield store


def _safe(text: Any, width: int | None = None) -> str:
    from analyzer.commands.report import terminal_safe

    return terminal_safe("" if text is None else str(text), width)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _json(value: Any) -> None:
    click.echo(json.dumps(value, default=str, ensure_ascii=True, indent=1))


# ---------------------------------------------------------------------------- rules
@click.group()
def rules() -> None:
    """Moderation rules beside the models: banned and suspect words, regular expressions,
    links and new authors. They run on every import and on API traffic, and flag comments
    for the review queue with a reason."""


@rules.command("list")
@DB
@FORMAT
def list_rules(db: str | None, fmt: str) -> None:
    """The rules, with how many stored comments each flags."""
    from analyzer.store import rules as store_rules

    with _store(db) as store:
        found = store_rules.list_rules(store)
    if fmt == "json":
        _json(found)
        return
    if not found:
        click.echo("no rules yet (add one with `analyzer rules add`)")
        return
    _table(
        ("id", "on", "severity", "kind", "flagged", "name", "scope", "pattern"),
        [
            (
                str(r["id"]),
                "yes" if r["enabled"] else "no",
                r["severity"],
                r["kind"],
                str(r["hits"]),
                _safe(r["name"], 30),
                _safe(r["scope"].replace("\n", ", "), 40),
                _safe(r["pattern"].replace("\n", " | "), 40) or "-",
            )
            for r in found
        ],
    )


def _rule_from_options(
    name: str | None, kind: str | None, severity: str, patterns: Sequence[str], scopes: Sequence[str], enabled: bool
) -> Rule:
    if not name or not kind:
        raise AnalyzerError("give --name and --kind (or --file with the rules)")
    return Rule(
        name=name,
        kind=kind,
        severity=severity,
        pattern="\n".join(patterns),
        scope="\n".join(scopes) or ALL,
        enabled=enabled,
    )


def _lines(value: Any, field: str, where: str, path: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    raise InputError(f"{field!r} must be a string or a list of strings", source=path, where=where)


def read_rule_file(path: str) -> list[Rule]:
    """The rules in a JSON or YAML file: one rule, a list of them, or {"rules": [...]};
    each checked, InputError naming the file and the rule."""
    from analyzer.rules import validate

    p = Path(path)
    try:
        if p.stat().st_size > MAX_RULE_FILE:
            raise InputError(f"a rule file has at most {MAX_RULE_FILE:,} bytes", source=path)
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", source=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=path) from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # PyYAML comes with transformers
        except ImportError:
            raise InputError(
                "YAML rule files need PyYAML (pip install pyyaml); or write the rules as JSON", source=path
            ) from None
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else None
            raise InputError(f"not YAML: {getattr(exc, 'problem', None) or exc}", source=path, where=where) from None
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", source=path, where=f"line {exc.lineno}") from None
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InputError("no rules in it", source=path)
    out: list[Rule] = []
    for n, item in enumerate(items, 1):
        where = f"rule {n}"
        if not isinstance(item, dict):
            raise InputError("a rule is an object with name, kind, pattern, ...", source=path, where=where)
        unknown = sorted(set(map(str, item)) - set(RULE_FIELDS))
        if unknown:
            raise InputError(
                f"unknown field(s) {', '.join(unknown)}; a rule has {', '.join(RULE_FIELDS)}", source=path, where=where
            )
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InputError("'enabled' must be true or false", source=path, where=where)
        for field in ("name", "kind", "severity"):
            if field in item and not isinstance(item[field], str):
                raise InputError(f"{field!r} must be a string", source=path, where=where)
        rule = Rule(
            name=item.get("name", ""),
            kind=item.get("kind", ""),
            severity=item.get("severity", "suspect"),
            pattern=_lines(item.get("pattern", ""), "pattern", where, path),
            scope=_lines(item.get("scope", ALL), "scope", where, path),
            enabled=enabled,
        )
        try:
            out.append(validate(rule))
        except RuleError as exc:
            label = f"{where} ({_safe(rule.name, 40)!r})" if rule.name.strip() else where
            raise InputError(str(exc), source=path, where=label) from None
    return out


def _describe(rule: Rule) -> str:
    scope = rule.scope.replace("\n", ", ")
    off = "" if rule.enabled else ", disabled"
    return f"{rule.label()} (scope {_safe(scope, 80)}{off})"


@rules.command("add")
@DB
@click.option("--name", default=None, help="The rule's name, shown in every reason it gives.")
@click.option("--kind", type=click.Choice(KINDS), default=None)
@click.option("--severity", type=click.Choice(SEVERITIES), default="suspect", show_default=True)
@click.option(
    "--pattern",
    "patterns",
    multiple=True,
    metavar="TEXT",
    help="A word or phrase (words), a regular expression (regex) or an allowed domain (link); repeat for more.",
)
@SCOPE
@click.option("--disabled", is_flag=True, help="Store it switched off.")
@click.option(
    "--file",
    "path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Rules from a JSON or YAML file (one rule, a list, or {rules: [...]}) instead of the options.",
)
@click.option("--rerun", is_flag=True, help="Then run every rule over the comments already stored.")
def add_rule(
    db: str | None,
    name: str | None,
    kind: str | None,
    severity: str,
    patterns: tuple[str, ...],
    scopes: tuple[str, ...],
    disabled: bool,
    path: str | None,
    rerun: bool,
) -> None:
    """Add a rule from options, or every rule in a file (all or none)."""
    from analyzer.store import rules as store_rules

    if path is not None:
        if name or kind or patterns or scopes:
            raise AnalyzerError("give either --file or --name/--kind/--pattern/--scope, not both")
        new = read_rule_file(path)
    else:
        new = [_rule_from_options(name, kind, severity, patterns, scopes, not disabled)]
    with _store(db) as store:
        ids = store_rules.save_rules(store, new)
        for rule_id, rule in zip(ids, new):
            click.echo(f"added rule {rule_id}: {_describe(rule)}")
        if rerun:
            _echo_rerun(store_rules.rerun_rules(store))
        else:
            click.echo("it flags new imports; `analyzer rules rerun` applies it to what is stored", err=True)


def _ids(values: Sequence[str]) -> list[int]:
    out = []
    for v in values:
        try:
            out.append(int(v))
        except ValueError:
            raise click.BadParameter(f"{v!r} is not a rule id (see `analyzer rules list`)") from None
    return out


@rules.command("remove")
@DB
@click.argument("rule_ids", nargs=-1, required=True, metavar="ID...")
def remove_rules(db: str | None, rule_ids: tuple[str, ...]) -> None:
    """Delete rules and the flags they set (all or none)."""
    from analyzer.store import rules as store_rules

    ids = _ids(rule_ids)
    with _store(db) as store:
        store_rules.remove_rule(store, ids)
    click.echo(f"removed rule(s) {', '.join(map(str, ids))} and their flags")


def _switch(db: str | None, rule_ids: tuple[str, ...], enabled: bool) -> None:
    from analyzer.store import rules as store_rules

    ids = _ids(rule_ids)
    with _store(db) as store:
        store_rules.set_enabled(store, ids, enabled)
    what = "enabled" if enabled else "disabled (their flags leave the queue; `analyzer rules rerun` drops them)"
    click.echo(f"rule(s) {', '.join(map(str, ids))} {what}")


@rules.command("disable")
@DB
@click.argument("rule_ids", nargs=-1, required=True, metavar="ID...")
def disable_rules(db: str | None, rule_ids: tuple[str, ...]) -> None:
    """Switch rules off, keeping them."""
    _switch(db, rule_ids, False)


@rules.command("enable")
@DB
@click.argument("rule_ids", nargs=-1, required=True, metavar="ID...")
def enable_rules(db: str | None, rule_ids: tuple[str, ...]) -> None:
    """Switch rules back on."""
    _switch(db, rule_ids, True)


def _echo_rerun(done: dict[str, int]) -> None:
    click.echo(
        f"rules run over {done['comments']:,} comment(s): {done['hits']:,} flag(s), {done['new']:,} new, "
        f"{done['dropped']:,} of disabled or deleted rules dropped"
    )


@rules.command("rerun")
@DB
def rerun_rules(db: str | None) -> None:
    """Run the enabled rules over every stored comment again (after editing rules)."""
    from analyzer.store import rules as store_rules

    with _store(db) as store:
        _echo_rerun(store_rules.rerun_rules(store))


@rules.command("test")
@DB
@click.argument("rule_id", required=False, type=int, metavar="[ID]")
@click.option("--thread", "thread_id", required=True, help="The stored thread to try it on.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Try an unsaved rule (with --pattern, ...).")
@click.option("--severity", type=click.Choice(SEVERITIES), default="suspect", show_default=True)
@click.option("--pattern", "patterns", multiple=True, metavar="TEXT", help="As for `rules add`.")
@SCOPE
@click.option("--file", "path", default=None, type=click.Path(dir_okay=False), help="Try the one rule in this file.")
@click.option("--ignore-scope", is_flag=True, help="Try it on the thread even if its scope leaves the thread out.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Comments shown.")
@FORMAT
def test_rule(
    db: str | None,
    rule_id: int | None,
    thread_id: str,
    kind: str | None,
    severity: str,
    patterns: tuple[str, ...],
    scopes: tuple[str, ...],
    path: str | None,
    ignore_scope: bool,
    limit: int,
    fmt: str,
) -> None:
    """Dry run: which comments of a stored thread a rule would flag, and why. ID is a stored
    rule; without it, give the rule as for `rules add`. Nothing is written."""
    from analyzer.store import rules as store_rules

    given = sum(x is not None for x in (rule_id, kind, path))
    if given != 1:
        raise AnalyzerError("give a rule: a stored rule's ID, --kind with --pattern, or --file")
    with _store(db) as store:
        if rule_id is not None:
            rule = store_rules.get_rule(store, rule_id)
        elif path is not None:
            found = read_rule_file(path)
            if len(found) != 1:
                raise InputError(f"holds {len(found)} rules; `rules test` tries one", source=path)
            rule = found[0]
        else:
            rule = _rule_from_options("(dry run)", kind, severity, patterns, scopes, True)
        result = store_rules.dry_run(store, rule, thread_id, ignore_scope=ignore_scope)
    if fmt == "json":
        _json({"rule": {k: getattr(rule, k) for k in ("id", *RULE_FIELDS)}, "thread": thread_id, **result})
        return
    flagged = result["flagged"]
    if not result["in_scope"] and not ignore_scope:
        click.echo(
            f"thread {_safe(thread_id, 80)} is outside the rule's scope ({_safe(rule.scope.replace(chr(10), ', '), 80)})"
            ": it flags nothing there (--ignore-scope tries it anyway)"
        )
        return
    click.echo(
        f"{_safe(rule.label())} would flag {len(flagged)} of {result['comments']} comment(s) "
        f"in thread {_safe(thread_id, 80)}" + (":" if flagged else "")
    )
    if flagged:
        _table(
            ("comment", "author", "reason", "text"),
            [
                (
                    _safe(f["comment_id"], 20),
                    _safe(f["author"] or "-", 20),
                    _safe(f["reason"], 70),
                    _safe(f["text"], 60),
                )
                for f in flagged[:limit]
            ],
        )
        if len(flagged) > limit:
            click.echo(f"... {len(flagged) - limit} more (use --limit)")


# ---------------------------------------------------------------------------- alerts
@click.group()
def alerts() -> None:
    """Webhook alerts: signed JSON POSTs when a thread's risk or toxic share crosses a
    threshold or rules flag new comments, with every delivery attempt logged."""


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

    with _store(db) as store, store.read() as conn:
        rows = store_alerts.recent(conn, limit=limit, status=status)
    if fmt == "json":
        _json(rows)
        return
    if not rows:
        click.echo("no alerts" + (f" {status}" if status else " yet"))
        return
    _table(
        ("id", "created", "event", "thread", "status", "tries", "webhook", "last error"),
        [
            (
                str(r["id"]),
                _when(r["created_at"]),
                r["kind"],
                _safe(r["thread_id"] or "-", 30),
                r["status"],
                str(r["attempts"]),
                _safe(r["webhook"] or "(deleted)", 20),
                _safe(r["last_error"] or "", 50),
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

    with _store(db) as store, store.read() as conn:
        found = store_alerts.recent(conn, limit=1, ids=[alert_id])
        if not found:
            raise AnalyzerError(f"no alert {alert_id}")
        payload = conn.execute(select(t.alerts.c.payload).where(t.alerts.c.id == alert_id)).scalar()
        tries = store_alerts.attempts(conn, alert_id)
    alert = found[0]
    if fmt == "json":
        _json({**alert, "payload": payload, "attempts_log": tries})
        return
    click.echo(
        f"alert {alert['id']} ({alert['kind']}, thread {_safe(alert['thread_id'] or '-', 60)}): "
        f"{_safe(alert['summary'], 100)}; {alert['status']} after {alert['attempts']} attempt(s) "
        f"to webhook {_safe(alert['webhook'] or '(deleted)', 40)}"
    )
    click.echo("payload: " + _safe(json.dumps(payload, ensure_ascii=True, sort_keys=True, default=str), 2000))
    if tries:
        _table(
            ("attempt", "at", "ok", "status", "seconds", "error"),
            [
                (
                    str(a["attempt"]),
                    _when(a["at"]),
                    "yes" if a["ok"] else "no",
                    str(a["status_code"] or "-"),
                    f"{a['seconds']:.2f}",
                    _safe(a["error"] or "", 60),
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
    with _store(db) as store:
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
    with _store(db) as store:
        _send(store)


# ---------------------------------------------------------------------------- webhooks
@alerts.group()
def webhooks() -> None:
    """Where alerts go. Secrets are kept encrypted (or as an env:NAME reference), never shown."""


@webhooks.command("list")
@DB
@FORMAT
def list_webhooks(db: str | None, fmt: str) -> None:
    """The webhooks: thresholds, scope and where each secret lives (never the secret)."""
    from analyzer.alerts import describe_secret
    from analyzer.store import alerts as store_alerts

    with _store(db) as store:
        hooks = store_alerts.list_webhooks(store)
    for h in hooks:
        h["secret"] = describe_secret(h["secret"])
    if fmt == "json":
        _json(hooks)
        return
    if not hooks:
        click.echo("no webhooks yet (add one with `analyzer alerts webhooks add`)")
        return
    _table(
        ("id", "on", "name", "url", "risk>=", "share>=", "flags", "scope", "secret"),
        [
            (
                str(h["id"]),
                "yes" if h["enabled"] else "no",
                _safe(h["name"], 20),
                _safe(h["url"], 50),
                "-" if h["risk_threshold"] is None else f"{h['risk_threshold']:.2f}",
                "-" if h["toxic_share_threshold"] is None else f"{h['toxic_share_threshold']:.2f}",
                "yes" if h["on_rule_hits"] else "no",
                _safe(h["scope"].replace("\n", ", "), 30),
                _safe(h["secret"], 40),
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
    with _store(db) as store:
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
    click.echo(f"added webhook {hook_id} ({_safe(url, 80)}); its secret is kept {where}", err=made is not None)
    if made is not None:
        click.echo("its shared secret (shown once, give it to the receiver):", err=True)
        click.echo(made)


@webhooks.command("remove")
@DB
@click.argument("webhook_id", type=int)
def remove_webhook(db: str | None, webhook_id: int) -> None:
    """Delete a webhook (its alerts stay in the log; pending ones are marked failed)."""
    from analyzer.store import alerts as store_alerts

    with _store(db) as store:
        store_alerts.remove_webhook(store, webhook_id)
    click.echo(f"removed webhook {webhook_id}")


@webhooks.command("disable")
@DB
@click.argument("webhook_id", type=int)
def disable_webhook(db: str | None, webhook_id: int) -> None:
    """Stop sending alerts to a webhook, keeping it."""
    from analyzer.store import alerts as store_alerts

    with _store(db) as store:
        store_alerts.set_webhook_enabled(store, webhook_id, False)
    click.echo(f"webhook {webhook_id} disabled")


@webhooks.command("enable")
@DB
@click.argument("webhook_id", type=int)
def enable_webhook(db: str | None, webhook_id: int) -> None:
    """Send alerts to a webhook again."""
    from analyzer.store import alerts as store_alerts

    with _store(db) as store:
        store_alerts.set_webhook_enabled(store, webhook_id, True)
    click.echo(f"webhook {webhook_id} enabled")


@webhooks.command("seal")
@DB
def seal_webhook_secrets(db: str | None) -> None:
    """Encrypt webhook secrets that an older version stored in the clear (any webhook
    change does this too)."""
    from analyzer.alerts import key_file
    from analyzer.store import alerts as store_alerts

    with _store(db) as store, store.write() as conn:
        n = store_alerts.seal_secrets(conn)
    click.echo(
        f"{n} plaintext secret(s) encrypted" + (f" (key: {key_file()} or $THREAD_ANALYZER_SECRET_KEY)" if n else "")
    )
