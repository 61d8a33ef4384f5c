"""``analyzer parse``: comment files in, reply-tree records (JSON Lines) out.

Each input is parsed completely before any of its records is written, so a bad file leaves
nothing half-written on stdout: it gets one error line on stderr, the other files still go
through, and the exit status is 2.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import IO

import click

from analyzer.commands.common import parse_columns, parse_now
from analyzer.errors import AnalyzerError
from analyzer.limits import Limits, env_var
from analyzer.parsers import FORMATS, input_units, parse_path
from analyzer.thread import Thread

_WRITE_BATCH = 2000
_MAX_REPAIR_LINES = 30


@click.command(epilog="\b\nFormats:\n" + "\n".join(f"  {k:<11} {v}" for k, v in FORMATS.items()))
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Input format (default: detected from each file; see the list below).",
)
@click.option(
    "--now",
    metavar="ISO-TIME",
    callback=parse_now,
    help="Reference time for relative times such as '4 months ago' (default: now).",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="ROLE=COLUMN",
    callback=parse_columns,
    help="For CSV/JSON Lines: the column holding a role (id, parent, thread, author, time, text). Repeatable.",
)
def parse(inputs: tuple[str, ...], fmt: str | None, now: datetime | None, columns: dict[str, str]) -> None:
    """Parse comment files or folders (INPUT...) into reply trees.

    Writes one JSON record per post or comment to stdout, in pre-order: thread_id, id,
    kind, parent_id, depth, author, author_inferred, created_at, text, extra. A summary goes
    to stderr. Files that cannot be read get a one-line error and exit status 2.
    """
    out: IO[bytes] = sys.stdout.buffer  # bytes: UTF-8 output whatever the locale
    totals = _Totals()
    failed = 0
    for unit in input_units(inputs):
        try:
            threads = parse_path(unit, format=fmt, now=now, columns=columns)
        except AnalyzerError as exc:
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        _write(threads, out)
        totals.add(threads)
    out.flush()
    for line in totals.repair_lines():
        click.echo(line, err=True)
    click.echo(totals.summary(failed), err=True)
    if failed:
        # SystemExit, not click's Exit: analyzer.cli runs click with standalone_mode=False,
        # which turns Exit into a return value that would be lost.
        sys.exit(2)


def _write(threads: list[Thread], out: IO[bytes]) -> None:
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    batch: list[str] = []
    for thread in threads:
        for record in thread.records():
            batch.append(encode(record))
            if len(batch) >= _WRITE_BATCH:
                out.write(("\n".join(batch) + "\n").encode("utf-8", "surrogatepass"))
                batch.clear()
    if batch:
        out.write(("\n".join(batch) + "\n").encode("utf-8", "surrogatepass"))


class _Totals:
    """Counts for the stderr summary."""

    def __init__(self) -> None:
        self.files = self.threads = self.posts = self.comments = self.max_depth = self.not_loaded = self.cut = 0
        self.repairs: dict[str, int] = {}
        self.repair_messages: list[str] = []
        self.more_repairs = 0

    def add(self, threads: list[Thread]) -> None:
        self.files += 1
        for t in threads:
            self.threads += 1
            self.posts += t.post is not None
            self.comments += len(t.comments)
            self.max_depth = max(self.max_depth, t.max_depth)
            nl = t.extra.get("not_loaded")
            self.not_loaded += nl if isinstance(nl, int) else 0
            self.cut += t.extra.get("truncated_comments", 0)
            for r in t.repairs:
                self.repairs[r.kind] = self.repairs.get(r.kind, 0) + len(r.ids)
                if len(self.repair_messages) < _MAX_REPAIR_LINES:
                    self.repair_messages.append(f"repair: thread {t.id} ({t.source}): {r.message}")
                else:
                    self.more_repairs += 1

    def repair_lines(self) -> list[str]:
        """What was repaired, with the ids involved (the first few dozen)."""
        more = [f"repair: ... and {self.more_repairs:,} more"] if self.more_repairs else []
        return self.repair_messages + more

    def summary(self, failed: int) -> str:
        parts = [
            f"{self.files} file(s)",
            f"{self.threads:,} thread(s)",
            f"{self.posts:,} post(s)",
            f"{self.comments:,} comment(s)",
            f"max depth {self.max_depth}",
        ]
        repairs = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in sorted(self.repairs.items()))
        parts.append(f"repairs: {repairs or 'none'}")
        if self.not_loaded:
            parts.append(f"{self.not_loaded:,} comment(s) not loaded in the sources")
        if self.cut:
            limits = Limits.from_env()
            parts.append(
                f"{self.cut:,} comment(s) cut to {limits.max_comment_chars:,} characters, flagged "
                f"'truncated' (raise the limit with {env_var('max_comment_chars')})"
            )
        if failed:
            parts.append(f"{failed} input(s) failed")
        return "parsed " + "; ".join(parts)
