"""What the ``rules`` and ``alerts`` commands share: their --db, --format and --scope options,
the store they open and their output (tables and JSON of text made terminal-safe), so the two
command modules read alike and neither imports the other's helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from analyzer.commands.ingest import DB_HELP
from analyzer.rules import SCOPE_HELP

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
def open_store(db: str | None) -> Iterator[Any]:
    """The existing store at ``db`` (never created here: these commands edit what is there)."""
    from analyzer.store import Store

    with Store.open(db, create=False) as store:
        yield store


def safe(text: Any, width: int | None = None) -> str:
    """Stored text (comments, names) as one terminal-safe line; None as empty."""
    from analyzer.commands.report import terminal_safe

    return terminal_safe("" if text is None else str(text), width)


def echo_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows as left-aligned columns under ``header``."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def echo_json(value: Any) -> None:
    """``value`` as ASCII-only, indented JSON (times and the like as strings)."""
    click.echo(json.dumps(value, default=str, ensure_ascii=True, indent=1))
