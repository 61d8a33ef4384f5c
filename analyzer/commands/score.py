"""``analyzer score``: parse threads and add toxicity and sentiment scores to each record."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date/time (e.g. 2024-05-01T12:00:00)", param_hint="--now")


@click.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option("--model", "model_dirs", multiple=True, metavar="DIR",
              help="Classifier folder (Hugging Face format); repeatable. Default: the default models in models/.")
@click.option("--format", "fmt", default=None, help="Input format (default: detected from each file).")
@click.option("--now", default=None, metavar="ISO", help="Reference time for relative dates such as '3 days ago'.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when present).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch.")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False), default=None,
              help="SQLite score cache, so re-runs skip texts already scored (default: $THREAD_ANALYZER_CACHE).")
@click.option("--allow-network", is_flag=True, help="Allow --model to name a Hugging Face hub id (downloads it).")
def score(inputs: tuple[str, ...], model_dirs: tuple[str, ...], fmt: str | None, now: str | None, batch_size: int,
          device: str | None, threads: int | None, cache_path: str | None, allow_network: bool) -> None:
    """Score every post and comment in INPUT files or folders, writing the parse records
    as JSON Lines with "scores" (label -> probability) and "models" (label -> name@fingerprint)."""
    from tqdm import tqdm
    from transformers.utils import logging as hf_logging

    from analyzer.cache import ScoreCache
    from analyzer.classifier import Classifier
    from analyzer.models import default_model_dirs
    from analyzer.parsers import parse_path
    from analyzer.scorer import Scorer

    reference = _parse_now(now)
    threads_by_input = [parse_path(path, format=fmt, now=reference) for path in inputs]  # fail early on bad input
    hf_logging.disable_progress_bar()  # our own bar is the one that matters
    folders = list(model_dirs) or [str(d) for d in default_model_dirs()]
    classifiers = [Classifier.from_pretrained(f, allow_network=allow_network, device=device) for f in folders]
    total = sum(len(t.comments) + (t.post is not None) for parsed in threads_by_input for t in parsed)
    records = (record for parsed in threads_by_input for thread in parsed for record in thread.records())
    with ScoreCache.from_env(cache_path) as cache:
        scorer = Scorer(classifiers, batch_size=batch_size, device=device, cache=cache, num_threads=threads,
                        chunk_size=512)
        out = sys.stdout
        with tqdm(total=total, unit="comment", file=sys.stderr, disable=None, desc="scoring") as bar:
            for record in scorer.score_records(records):
                out.write(json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n")
                bar.update(1)
        out.flush()
        click.echo(f"scored {total} records; cache hits {cache.hits}, misses {cache.misses}", err=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
