"""``analyzer score``: parse threads and add toxicity and sentiment scores to each record.

Input handling is ``analyzer parse``'s (same formats, options and errors): inputs are
parsed and scored one by one, so memory stays bounded by the largest single input, and a
bad input gets one error line while the others still go through (exit status 2).
torch and transformers are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from analyzer.commands.common import parse_columns, parse_now
from analyzer.errors import AnalyzerError
from analyzer.parsers import FORMATS
from analyzer.scoring.classifier import PRECISIONS


@click.command(epilog="\b\nFormats:\n" + "\n".join(f"  {k:<11} {v}" for k, v in FORMATS.items()))
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "--model",
    "model_dirs",
    multiple=True,
    metavar="DIR",
    help="Classifier folder (Hugging Face format); repeatable. Default: the default models in models/.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Input format (default: detected from each file).",
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
    help="For CSV/JSON Lines: the column holding a role (id, parent, thread, author, time, text).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Windows per forward pass (default: 32 on a CPU, 256 on a GPU).",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when present).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch.")
@click.option(
    "--precision",
    type=click.Choice(list(PRECISIONS)),
    default="auto",
    show_default=True,
    help="auto: int8 on a CPU, bfloat16 on a GPU (the fastest that keep validation ROC-AUC and macro-F1 "
    "within 0.005 of float32; scores move by ~1e-2 at most); float32: exact (docs/scaling.md).",
)
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite score cache, so re-runs skip texts already scored (default: $THREAD_ANALYZER_CACHE, "
    "else the user cache folder, ~/.cache/thread-analyzer/scores.sqlite on Linux).",
)
@click.option("--no-cache", is_flag=True, help="Keep no score cache on disk (this run only, in memory).")
@click.option("--allow-network", is_flag=True, help="Allow --model to name a Hugging Face hub id (downloads it).")
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default=None,
    help="local: this process (default); dask: a Dask cluster (needs --out; see docs/scaling.md).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --engine dask; default: a local cluster).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write a Parquet dataset folder (one part file per partition) instead of JSON Lines.",
)
@click.option(
    "--partition-size",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Comments per partition (whole threads; bigger threads are cut).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Times a failed partition is retried (dask engine).",
)
def score(
    inputs: tuple[str, ...],
    model_dirs: tuple[str, ...],
    fmt: str | None,
    now: datetime | None,
    columns: dict[str, str],
    batch_size: int | None,
    device: str | None,
    threads: int | None,
    precision: str,
    cache_path: str | None,
    no_cache: bool,
    allow_network: bool,
    engine: str | None = None,
    scheduler: str | None = None,
    out_dir: str | None = None,
    partition_size: int = 1000,
    retries: int = 2,
) -> None:
    """Score every post and comment in INPUT files or folders.

    Writes the parse records as JSON Lines, each with "scores" (canonical label ->
    probability), "models" (label -> name@fingerprint) and "windowed" (the text was longer
    than a model's maximum length and was scored in overlapping windows).
    """
    from analyzer.scoring.frames import quiet_openmp

    quiet_openmp()  # before torch loads
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own bar is the one that matters
    if scheduler or engine == "dask" or out_dir is not None:
        failed = _score_to_parquet(
            inputs,
            out_dir,
            model_dirs,
            fmt=fmt,
            now=now,
            columns=columns,
            batch_size=batch_size,
            device=device,
            threads=threads,
            precision=precision,
            cache_path=cache_path,
            dask=bool(scheduler) or engine == "dask",
            scheduler=scheduler,
            partition_size=partition_size,
            retries=retries,
        )
    else:
        failed = _score_to_stdout(
            inputs,
            model_dirs,
            fmt=fmt,
            now=now,
            columns=columns,
            batch_size=batch_size,
            device=device,
            threads=threads,
            precision=precision,
            cache_path=cache_path,
            no_cache=no_cache,
            allow_network=allow_network,
        )
    if failed:
        sys.exit(2)  # SystemExit: analyzer.cli runs click with standalone_mode=False


def _score_to_stdout(
    inputs: tuple[str, ...],
    model_dirs: tuple[str, ...],
    *,
    fmt: str | None,
    now: datetime | None,
    columns: dict[str, str],
    batch_size: int | None,
    device: str | None,
    threads: int | None,
    precision: str,
    cache_path: str | None,
    no_cache: bool,
    allow_network: bool,
) -> int:
    """The default: records scored in this process as JSON Lines on stdout, input after
    input; returns the number of inputs that failed to parse."""
    from tqdm import tqdm

    from analyzer.parsers import input_units, parse_path
    from analyzer.scoring.cache import ScoreCache
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.defaults import default_model_dirs
    from analyzer.scoring.scorer import Scorer

    folders = list(model_dirs) or [str(d) for d in default_model_dirs()]
    classifiers = [
        Classifier.from_pretrained(f, allow_network=allow_network, device=device, precision=precision) for f in folders
    ]
    out = sys.stdout.buffer  # bytes: the records are encoded once, as UTF-8
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    failed = written = 0
    with (
        ScoreCache.from_env(cache_path, enabled=not no_cache) as cache,
        tqdm(total=0, unit="comment", file=sys.stderr, disable=None, desc="scoring") as bar,
    ):
        scorer = Scorer(
            classifiers, batch_size=batch_size, device=device, cache=cache, num_threads=threads, chunk_size=512
        )
        for unit in input_units(inputs):
            try:
                parsed = parse_path(unit, format=fmt, now=now, columns=columns)
            except AnalyzerError as exc:
                click.echo(f"error: {exc}", err=True)
                failed += 1
                continue
            bar.total += sum(len(t.comments) + (t.post is not None) for t in parsed)
            bar.refresh()
            records = (record for thread in parsed for record in thread.records())
            for record in scorer.score_records(records):
                out.write((encode(record) + "\n").encode("utf-8", "surrogatepass"))
                written += 1
                bar.update(1)
        out.flush()
    click.echo(
        f"scored {written:,} record(s) with {', '.join(c.version for c in classifiers)}; "
        f"cache hits {cache.hits:,}, misses {cache.misses:,}",
        err=True,
    )
    return failed


def _score_to_parquet(
    inputs: tuple[str, ...],
    out_dir: str | None,
    model_dirs: tuple[str, ...],
    *,
    fmt: str | None,
    now: datetime | None,
    columns: dict[str, str],
    batch_size: int | None,
    device: str | None,
    threads: int | None,
    precision: str,
    cache_path: str | None,
    dask: bool,
    scheduler: str | None,
    partition_size: int,
    retries: int,
) -> int:
    """``--out`` and ``--engine dask``: partitions scored here or on a Dask cluster into a
    Parquet dataset (analyzer.scoring.distributed); returns the number of inputs that failed."""
    from tqdm import tqdm

    from analyzer.scoring import distributed
    from analyzer.scoring.frames import resolve_model_dirs

    if out_dir is None:
        raise click.UsageError("--engine dask writes a Parquet dataset: pass --out DIR")
    cache = str(Path(cache_path).resolve()) if cache_path else distributed.default_cache(out_dir)
    options = distributed.ScoreOptions(
        model_dirs=resolve_model_dirs(model_dirs),
        precision=precision,
        batch_size=batch_size,
        device=device,
        num_threads=threads,
        cache=cache,
    )
    with tqdm(unit="comment", file=sys.stderr, disable=None, desc="scoring") as bar:
        run = dict(
            format=fmt,
            now=now,
            columns=columns,
            partition_size=partition_size,
            progress=bar.update,
            on_error=lambda message: click.echo(message, err=True),
        )
        if dask:
            with distributed.connect(scheduler) as client:
                summary = distributed.score_files(inputs, out_dir, options, client=client, retries=retries, **run)
        else:
            summary = distributed.score_files(inputs, out_dir, options, **run)
    where = f" on {summary.workers} Dask worker(s)" if dask else ""
    click.echo(
        f"scored {summary.records:,} record(s) in {summary.partitions} partition(s){where} into {out_dir} "
        f"({summary.seconds:.1f} s); score cache {cache}",
        err=True,
    )
    return len(summary.errors)
