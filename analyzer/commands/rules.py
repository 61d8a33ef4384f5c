"""``analyzer rules``: the moderation rules of the dashboard's "Rules & alerts" page, from a
terminal or a script (``analyzer alerts``, its webhook alerts, is in ``commands.alerts``).

Every change is one transaction, checked before anything is written (a bad rule file
stores none of its rules); errors are one line (exit 2). Comment text and rule names are
printed through ``terminal_safe``.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from analyzer.commands.moderation import DB, FORMAT, SCOPE, echo_json, echo_table, open_store, safe
from analyzer.commands.rule_file import RULE_FIELDS, read_rule_file
from analyzer.errors import AnalyzerError, InputError
from analyzer.rules import ALL, KINDS, SEVERITIES, Rule


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

    with open_store(db) as store:
        found = store_rules.list_rules(store)
    if fmt == "json":
        echo_json(found)
        return
    if not found:
        click.echo("no rules yet (add one with `analyzer rules add`)")
        return
    echo_table(
        ("id", "on", "severity", "kind", "flagged", "name", "scope", "pattern"),
        [
            (
                str(r["id"]),
                "yes" if r["enabled"] else "no",
                r["severity"],
                r["kind"],
                str(r["hits"]),
                safe(r["name"], 30),
                safe(r["scope"].replace("\n", ", "), 40),
                safe(r["pattern"].replace("\n", " | "), 40) or "-",
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


def _describe(rule: Rule) -> str:
    scope = rule.scope.replace("\n", ", ")
    off = "" if rule.enabled else ", disabled"
    return f"{rule.label()} (scope {safe(scope, 80)}{off})"


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
    with open_store(db) as store:
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
    with open_store(db) as store:
        store_rules.remove_rule(store, ids)
    click.echo(f"removed rule(s) {', '.join(map(str, ids))} and their flags")


def _switch(db: str | None, rule_ids: tuple[str, ...], enabled: bool) -> None:
    from analyzer.store import rules as store_rules

    ids = _ids(rule_ids)
    with open_store(db) as store:
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

    with open_store(db) as store:
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
    with open_store(db) as store:
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
        echo_json({"rule": {k: getattr(rule, k) for k in ("id", *RULE_FIELDS)}, "thread": thread_id, **result})
        return
    flagged = result["flagged"]
    if not result["in_scope"] and not ignore_scope:
        click.echo(
            f"thread {safe(thread_id, 80)} is outside the rule's scope ({safe(rule.scope.replace(chr(10), ', '), 80)})"
            ": it flags nothing there (--ignore-scope tries it anyway)"
        )
        return
    click.echo(
        f"{safe(rule.label())} would flag {len(flagged)} of {result['comments']} comment(s) "
        f"in thread {safe(thread_id, 80)}" + (":" if flagged else "")
    )
    if flagged:
        echo_table(
            ("comment", "author", "reason", "text"),
            [
                (
                    safe(f["comment_id"], 20),
                    safe(f["author"] or "-", 20),
                    safe(f["reason"], 70),
                    safe(f["text"], 60),
                )
                for f in flagged[:limit]
            ],
        )
        if len(flagged) > limit:
            click.echo(f"... {len(flagged) - limit} more (use --limit)")
