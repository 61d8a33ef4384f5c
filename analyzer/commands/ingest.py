"""``analyzer ingest``: parse, score and store comment threads in one go.

Everything is parsed (and scored) before the store is written, and the write is one
transaction: a bad input or a failure leaves the store as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from analyzer.errors import AnalyzerError, InputError

if TYPE_CHECKING:
    from analyzer.scoring.classifier import Classifier
    from analyzer.store import ImportBatch, Store

DB_HELP = (
    "Store: an SQLite file path or a postgresql+psycopg:// URL (default: $THREAD_ANALYZER_DB or ./thread_analyzer.db)."
)


def parse_now(value: str | None) -> datetime | None:
    """--now as an aware time (naive values are UTC)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise AnalyzerError(f"--now {value!r} is not an ISO 8601 time such as 2022-05-10T12:00:00Z") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--db", default=None, metavar="URL", help=DB_HELP)
@click.option("--no-score", is_flag=True, help="Store the threads without scoring them.")
@click.option(
    "--model",
    "model_dirs",
    multiple=True,
    metavar="DIR",
    help="Classifier folder; repeatable (default: the default models).",
)
@click.option("--format", "fmt", default=None, help="Input format (default: detected from each file).")
@click.option("--now", default=None, metavar="ISO-TIME", help="Reference time for relative times ('4 months ago').")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Windows per forward pass (default: 32 on a CPU, 256 on a GPU).",
)
@click.option("--device", default=None, help="cpu, cuda, ... (default: CUDA when present).")
@click.option(
    "--precision",
    type=click.Choice(["float32", "bfloat16", "int8", "auto"]),
    default="auto",
    show_default=True,
    help="auto: int8 on a CPU, bfloat16 on a GPU; float32: exact (see analyzer score).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default=None,
    help="Where scoring runs: this process (local, default) or a Dask cluster (see docs/scaling.md).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --engine dask; default: a local cluster).",
)
def ingest(
    inputs: tuple[str, ...],
    db: str | None,
    no_score: bool,
    model_dirs: tuple[str, ...],
    fmt: str | None,
    now: str | None,
    batch_size: int | None,
    device: str | None,
    precision: str = "auto",
    engine: str | None = None,
    scheduler: str | None = None,
) -> None:
    """Parse INPUT files or folders, score them (unless --no-score) and store them.
    Re-ingesting the same file adds nothing; changed comments are updated."""
    from analyzer.scoring.frames import quiet_openmp

    quiet_openmp()  # before torch loads
    from tqdm import tqdm

    from analyzer import pipeline
    from analyzer.store import Store

    pipeline.check_format(fmt)
    batches = pipeline.batches_from_paths(inputs, format=fmt, now=parse_now(now))
    n_threads = pipeline.count_threads(batches)
    n_records = pipeline.count_records(batches)
    if not n_threads:
        raise InputError("no threads found", source=", ".join(inputs))

    # Models load before the store opens, so a model error leaves no empty store behind.
    models: list[Any] = [] if no_score else pipeline.load_models(model_dirs, device, precision)
    store = Store.open(db)
    try:
        if models:
            with tqdm(total=n_records, unit="comment", file=sys.stderr, disable=None, desc="scoring") as bar:
                if scheduler or engine == "dask":
                    _score_on_dask(
                        store,
                        batches,
                        models,
                        scheduler=scheduler,
                        batch_size=batch_size,
                        device=device,
                        precision=precision,
                        progress=bar.update,
                    )
                else:
                    pipeline.score_batches(
                        store, batches, models, batch_size=batch_size, device=device, progress=bar.update
                    )
        with tqdm(total=n_records, unit="comment", file=sys.stderr, disable=None, desc="storing") as bar:
            summary = pipeline.store_batches(store, batches, models, progress=bar.update)
        click.echo(pipeline.summary_line(summary, n_threads, store.url))
    finally:
        store.close()


def _score_on_dask(
    store: Store,
    batches: Sequence[ImportBatch],
    models: Sequence[Classifier],
    *,
    scheduler: str | None,
    batch_size: int | None,
    device: str | None,
    precision: str | None,
    progress: Callable[[int], None],
) -> None:
    """``pipeline.score_batches`` with the scoring on a Dask cluster: records whose current
    text the store already scored with these models are skipped; the rest go to the workers
    as plain records (``distributed`` never sees the store) and come back to their batches."""
    from analyzer import pipeline
    from analyzer.scoring import distributed

    todo = [keep for _, keep in pipeline.unscored(store, batches, models, progress)]
    options = distributed.options_for(models, precision=precision, batch_size=batch_size, device=device)
    with distributed.connect(scheduler) as client:
        scored = distributed.score_groups(todo, options, client=client, progress=progress)
    for batch, records in zip(batches, scored):
        batch.records = records
