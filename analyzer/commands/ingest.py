"""``analyzer ingest``: parse, score and store comment threads in one go.

Everything is parsed (and scored) before the store is written, and the write is one
transaction: a bad input or a failure leaves the store as it was.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from analyzer.errors import AnalyzerError, InputError

DB_HELP = "Store: an SQLite file path or a postgresql+psycopg:// URL (default: $THREAD_ANALYZER_DB or ./thread_analyzer.db)."


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
@click.option("--model", "model_dirs", multiple=True, metavar="DIR",
              help="Classifier folder; repeatable (default: the default models).")
@click.option("--format", "fmt", default=None, help="Input format (default: detected from each file).")
@click.option("--now", default=None, metavar="ISO-TIME", help="Reference time for relative times ('4 months ago').")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--device", default=None, help="cpu, cuda, ... (default: CUDA when present).")
def ingest(inputs: tuple[str, ...], db: str | None, no_score: bool, model_dirs: tuple[str, ...], fmt: str | None,
           now: str | None, batch_size: int, device: str | None) -> None:
    """Parse INPUT files or folders, score them (unless --no-score) and store them.
    Re-ingesting the same file adds nothing; changed comments are updated."""
    from tqdm import tqdm

    from analyzer.parsers import FORMATS, parse_path
    from analyzer.store import ImportBatch, ModelInfo, Store
    from analyzer.store.importing import file_sha256

    if fmt is not None and fmt not in FORMATS:
        raise AnalyzerError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    reference = parse_now(now)
    for name in inputs:
        if not Path(name).exists():
            raise InputError("no such file or folder", source=name)

    batches: dict[str, ImportBatch] = {}
    for name in inputs:  # parse everything first: a bad file stops us before any write
        for thread in parse_path(name, format=fmt, now=reference):
            src = Path(thread.source) if thread.source else Path(name)
            source = str(src.resolve()) if src.exists() else (thread.source or name)
            batch = batches.get(source)
            if batch is None:
                sha = file_sha256(src) if src.is_file() else None
                batch = batches[source] = ImportBatch([], None, source=source, format=thread.format or fmt, sha256=sha)
            batch.threads.append(thread)  # type: ignore[attr-defined]
    n_threads = sum(len(b.threads) for b in batches.values())
    n_records = sum(len(t.comments) + (t.post is not None) for b in batches.values() for t in b.threads)
    if not n_threads:
        raise InputError("no threads found", source=", ".join(inputs))

    store = Store.open(db)
    try:
        models: list[Any] = []
        if not no_score:
            models = _score(store, list(batches.values()), model_dirs, batch_size, device, n_records)
        with tqdm(total=n_records, unit="comment", file=sys.stderr, disable=None, desc="storing") as bar:
            summary = store.import_batches(list(batches.values()), models=[ModelInfo.of(m) for m in models],
                                           progress=bar.update)
        s = summary
        seen = f" ({s.sources_seen_before} already imported)" if s.sources_seen_before else ""
        click.echo(
            f"{s.sources} source(s){seen}, {n_threads} thread(s) into {store.url}: "
            f"threads {s.threads_added} added, {s.threads_updated} updated, {s.threads_unchanged} unchanged; "
            f"comments {s.comments_added} added, {s.comments_updated} updated, {s.comments_unchanged} unchanged, "
            f"{s.repaired} repaired; scores {s.scores_added} added"
        )
    finally:
        store.close()


def _score(store: Any, batches: list[Any], model_dirs: tuple[str, ...], batch_size: int, device: str | None,
           total: int) -> list[Any]:
    """Score every record whose current text the store has not already scored with these
    models; attach the records to their batches. Returns the classifiers used."""
    from tqdm import tqdm

    from analyzer.classifier import Classifier
    from analyzer.models import default_model_dirs
    from analyzer.scorer import Scorer
    from analyzer.store.importing import text_hash

    folders = list(model_dirs) or [str(d) for d in default_model_dirs()]
    classifiers = [Classifier.from_pretrained(f, device=device) for f in folders]
    thread_ids = [t.id for b in batches for t in b.threads]
    done = store.scored_text_hashes(thread_ids, [c.fingerprint for c in classifiers])
    scorer = Scorer(classifiers, batch_size=batch_size, device=device)
    with tqdm(total=total, unit="comment", file=sys.stderr, disable=None, desc="scoring") as bar:
        for batch in batches:
            todo = [r for t in batch.threads for r in t.records()
                    if done.get((r["thread_id"], r["id"])) != text_hash(r["text"] or "")]
            bar.update(sum(len(t.comments) + (t.post is not None) for t in batch.threads) - len(todo))
            scored = []
            for record in scorer.score_records(todo):
                scored.append(record)
                bar.update(1)
            batch.records = scored
    return classifiers
