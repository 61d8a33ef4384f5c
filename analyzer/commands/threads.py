"""``analyzer threads``: the stored threads, riskiest first, from the per-thread statistics."""

from __future__ import annotations

import json

import click

from analyzer.commands.ingest import DB_HELP


@click.command()
@click.option("--db", default=None, metavar="URL", help=DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@click.option("--search", default=None, help="Only threads whose id or title contains this text.")
@click.option("--min-risk", type=click.FloatRange(0, 1), default=None)
@click.option(
    "--order", type=click.Choice(["risk", "comments", "toxic", "updated", "id"]), default="risk", show_default=True
)
@click.option(
    "--alone",
    is_flag=True,
    help="Rank by the context-free scores even where a context model read the replies with their parents.",
)
def threads(
    db: str | None,
    fmt: str,
    limit: int,
    offset: int,
    search: str | None,
    min_risk: float | None,
    order: str,
    alone: bool = False,
) -> None:
    """List stored threads ranked by risk (or --order), as a table or JSON. Threads a context
    model scored are measured in context (the "scores" column) unless --alone."""
    from analyzer.commands.report import terminal_safe
    from analyzer.store import Store

    with Store.open(db, create=False) as store:
        rows = store.list_threads(
            search=search,
            min_risk=min_risk,
            order=order,
            limit=limit,
            offset=offset,
            scores="alone" if alone else "context",
        )
        total = store.count_threads(search=search, min_risk=min_risk)
    if fmt == "json":
        click.echo(json.dumps(rows, default=str, ensure_ascii=True, indent=1))
        return
    if not rows:
        click.echo("no threads" + (" match" if search or min_risk is not None else " stored yet"))
        return
    header = ("risk", "thread", "comments", "authors", "depth", "toxic", "max", "top label", "scores", "title")
    body = [
        (
            f"{r['risk']:.2f}",
            terminal_safe(r["thread_id"]),
            str(r["comments"]),
            str(r["authors"]),
            str(r["max_depth"]),
            _pct(r["toxic_share"]),
            _num(r["max_toxicity"]),
            r["top_label"] or "-",
            "in context" if r.get("in_context") else "alone",
            terminal_safe(r["title"] or "", 50),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    for row in (header, *body):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    if total > offset + len(rows):
        click.echo(f"... {total - offset - len(rows)} more (use --limit/--offset)")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
