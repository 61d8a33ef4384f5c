"""``analyzer export``: scores and verdicts out of the store, as CSV or Parquet, and the
verdicts as training data for ``analyzer train``."""

from __future__ import annotations

import click

from analyzer.commands.ingest import DB_HELP
from analyzer.errors import AnalyzerError


@click.command()
@click.option("--db", default=None, metavar="URL", help=DB_HELP)
@click.option(
    "--out",
    default=None,
    metavar="FILE",
    help="Every comment with its current scores and latest verdict (.csv or .parquet); where a "
    "context model scored, also <label>_in_context columns and context_models.",
)
@click.option("--thread", "thread_id", default=None, help="Only this thread (for --out).")
@click.option(
    "--raw-csv",
    is_flag=True,
    help="Write texts in the --out CSV exactly as stored. By default a cell that a spreadsheet "
    "would run as a formula (starting with = + - @) gets a leading apostrophe.",
)
@click.option(
    "--verdicts-for-training",
    "training_out",
    default=None,
    metavar="FILE",
    help="Reviewers' verdicts as a training CSV (text + label columns) for `analyzer train`.",
)
@click.option(
    "--task",
    type=click.Choice(["toxicity", "sentiment"]),
    default="toxicity",
    show_default=True,
    help="Which labels --verdicts-for-training writes.",
)
def export(
    db: str | None, out: str | None, thread_id: str | None, raw_csv: bool, training_out: str | None, task: str
) -> None:
    """Write the store's scores and verdicts to files."""
    from analyzer.store import Store
    from analyzer.store.exporting import export_format

    if out is None and training_out is None:
        raise AnalyzerError("nothing to do: give --out FILE and/or --verdicts-for-training FILE")
    if out is not None:
        export_format(out)  # fail on a bad name before opening anything
    with Store.open(db, create=False) as store:
        if thread_id is not None and not store.has_thread(thread_id):
            raise AnalyzerError(f"no thread {thread_id!r} in the store", source=store.url)
        if out is not None:
            written = store.export(out, thread_id=thread_id, raw=raw_csv)
            click.echo(f"wrote {written.describe()} to {out}")
        if training_out is not None:
            n = store.export_training(training_out, task=task)
            click.echo(f"wrote {n} {task} training row(s) to {training_out}")
