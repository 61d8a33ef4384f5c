"""Parse → score → store, as functions that ``analyzer ingest``, ``analyzer demo`` and the
dashboard's Import page share, so the three can never import the same file differently.

Everything is parsed (and scored) before the store is written, and the write is one
transaction: a bad input or a failure leaves the store as it was. Progress is reported
through plain callbacks (``progress(n)`` = n more records done), so the CLI can drive a
tqdm bar and the dashboard a Streamlit progress bar.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import AnalyzerError, InputError

if TYPE_CHECKING:
    from analyzer.scoring.classifier import Classifier
    from analyzer.store import ImportBatch, ImportSummary, Store
    from analyzer.thread import Thread

Progress = Callable[[int], None]


def _noop(_: int) -> None:
    pass


def check_format(fmt: str | None) -> None:
    """AnalyzerError naming the accepted formats when ``fmt`` is not one of them."""
    from analyzer.parsers import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise AnalyzerError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def batches_from_paths(
    inputs: Sequence[str | os.PathLike[str]], *, format: str | None = None, now: datetime | None = None
) -> list[ImportBatch]:
    """Parse files and folders into one ``ImportBatch`` per source file (keyed by its
    absolute path and sha256, which is what makes re-importing a file a no-op)."""
    from analyzer.parsers import parse_path
    from analyzer.store import ImportBatch
    from analyzer.store.importing import file_sha256

    check_format(format)
    for name in inputs:
        if not Path(name).exists():
            raise InputError("no such file or folder", source=str(name))
    batches: dict[str, ImportBatch] = {}
    parsed: dict[str, list[Thread]] = {}  # each batch's threads, filled while parsing
    for name in inputs:  # parse everything first: a bad file stops us before any write
        for thread in parse_path(name, format=format, now=now):
            src = Path(thread.source) if thread.source else Path(name)
            source = str(src.resolve()) if src.exists() else (thread.source or str(name))
            batch = batches.get(source)
            if batch is None:
                sha = file_sha256(src) if src.is_file() else None
                batch = batches[source] = ImportBatch(
                    parsed.setdefault(source, []), None, source=source, format=thread.format or format, sha256=sha
                )
            parsed[source].append(thread)
    return list(batches.values())


def paste_name(text: str) -> str:
    """A file name for pasted text, unique to its content: the thread id comes from the
    name, so two different pastes never land in the same thread."""
    return "paste-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12] + ".txt"


def batches_from_bytes(
    items: Iterable[tuple[str, bytes]], *, format: str | None = None, now: datetime | None = None
) -> list[ImportBatch]:
    """Parse in-memory files (name, bytes), e.g. dashboard uploads, one batch each; the
    source is ``upload:<name>`` and the sha256 that of the bytes."""
    from analyzer.parsers import parse_bytes
    from analyzer.store import ImportBatch

    check_format(format)
    out: list[ImportBatch] = []
    for name, data in items:
        threads = parse_bytes(data, name=name, format=format, now=now)
        if threads:
            out.append(
                ImportBatch(
                    threads,
                    None,
                    source=f"upload:{name}",
                    format=threads[0].format or format,
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
    return out


def count_records(batches: Sequence[ImportBatch]) -> int:
    """Posts and comments in ``batches``: the total for progress bars."""
    return sum(len(t.comments) + (t.post is not None) for b in batches for t in b.threads)


def count_threads(batches: Sequence[ImportBatch]) -> int:
    return sum(len(b.threads) for b in batches)


def load_models(
    model_dirs: Sequence[str] = (), device: str | None = None, precision: str = "float32"
) -> list[Classifier]:
    """The classifiers in ``model_dirs``, or the default models; ModelError says what to do.
    ``precision`` as in ``Classifier.from_pretrained`` ("auto": the fast one for the device)."""
    from analyzer.errors import ModelError
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.defaults import default_model_dirs

    try:
        folders = list(model_dirs) or [str(d) for d in default_model_dirs()]
    except ModelError as exc:
        raise ModelError(f"{exc}, or store the threads unscored with --no-score") from None
    return [Classifier.from_pretrained(f, device=device, precision=precision) for f in folders]


def unscored(
    store: Store, batches: Sequence[ImportBatch], classifiers: Sequence[Classifier], step: Progress
) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per batch, (its records, those whose current text the store has not scored with these
    models yet): the ones to score, so a re-import costs no model time. The skipped ones count
    as done on ``step``. Both engines (in process, Dask) start here."""
    from analyzer.store.importing import text_hash

    thread_ids = [t.id for b in batches for t in b.threads]
    done = store.scored_text_hashes(thread_ids, [c.fingerprint for c in classifiers]) if classifiers else {}
    out = []
    for batch in batches:
        records = [r for t in batch.threads for r in t.records()]
        todo = [r for r in records if classifiers and done.get((r["thread_id"], r["id"])) != text_hash(r["text"] or "")]
        if len(records) > len(todo):
            step(len(records) - len(todo))
        out.append((records, todo))
    return out


def score_batches(
    store: Store,
    batches: Sequence[ImportBatch],
    classifiers: Sequence[Classifier],
    *,
    batch_size: int | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Score every record whose current text the store has not already scored with these
    models (a re-import costs no model time), attaching the records to their batches.
    Context models (``context == "parent"``) read each comment with its parent
    (``store.importing.parent_texts``) and add ``context_scores``; they read it again only
    when its text or its parent's changed since the stored scores."""
    from analyzer.scoring.scorer import Scorer

    step = progress or _noop
    plain = [c for c in classifiers if getattr(c, "context", None) != "parent"]
    paired = [c for c in classifiers if getattr(c, "context", None) == "parent"]
    thread_ids = [t.id for b in batches for t in b.threads]
    scorer = Scorer(plain, batch_size=batch_size, device=device)
    pair_scorer = Scorer(paired, batch_size=batch_size, device=device) if paired else None
    done_pairs = store.context_scored_hashes(thread_ids, [c.fingerprint for c in paired]) if paired else {}
    for batch, (records, todo) in zip(batches, unscored(store, batches, plain, step)):
        scored: dict[tuple[str, str], dict[str, Any]] = {}
        for record in scorer.score_records(todo) if plain else ():
            scored[(record["thread_id"], record["id"])] = record
            step(1)
        if pair_scorer is not None:
            _score_in_context(pair_scorer, batch, records, scored, done_pairs)
        batch.records = [scored[(r["thread_id"], r["id"])] for r in records if (r["thread_id"], r["id"]) in scored]


PAIR_CHUNK = 4096  # (parent, reply) pairs held at once


def _score_in_context(
    scorer: Any,
    batch: ImportBatch,
    records: list[dict[str, Any]],
    scored: dict[tuple[str, str], dict[str, Any]],
    done: dict[tuple[str, str], tuple[str, str]],
) -> None:
    """Add ``context_scores`` / ``context_models`` to the records (into ``scored``) of every
    comment whose (text, parent text) the store has not read in context yet."""
    from analyzer.store.importing import parent_texts, text_hash

    by_key = {(r["thread_id"], r["id"]): r for r in records}
    todo: list[tuple[tuple[str, str], str, str]] = []
    for thread in batch.threads:
        for cid, parent in parent_texts(thread).items():
            key = (thread.id, cid)
            record = by_key.get(key)
            if record is None:
                continue
            text = record["text"] or ""
            if done.get(key) != (text_hash(text), text_hash(parent)):
                todo.append((key, parent, text))
    for start in range(0, len(todo), PAIR_CHUNK):
        part = todo[start : start + PAIR_CHUNK]
        for (key, _, _), result in zip(part, scorer.score_pairs([(p, r) for _, p, r in part])):
            if not result.scores:
                continue
            out = scored.get(key) or {k: v for k, v in by_key[key].items() if k not in ("scores", "models")}
            out["context_scores"] = result.scores
            out["context_models"] = result.models
            scored[key] = out


def store_batches(
    store: Store,
    batches: Sequence[ImportBatch],
    classifiers: Sequence[Any] = (),
    *,
    progress: Progress | None = None,
) -> ImportSummary:
    """Write the (scored) batches in one transaction, registering the models that scored them."""
    from analyzer.store import ModelInfo

    return store.import_batches(list(batches), models=[ModelInfo.of(m) for m in classifiers], progress=progress)


def import_batches(
    store: Store,
    batches: Sequence[ImportBatch],
    classifiers: Sequence[Classifier] = (),
    *,
    batch_size: int | None = None,
    device: str | None = None,
    on_score: Progress | None = None,
    on_store: Progress | None = None,
) -> ImportSummary:
    """Score (when ``classifiers`` are given) and store ``batches``: the whole pipeline after parsing."""
    if classifiers:
        score_batches(store, batches, classifiers, batch_size=batch_size, device=device, progress=on_score)
    return store_batches(store, batches, classifiers, progress=on_store)


def summary_line(summary: ImportSummary, n_threads: int, where: str) -> str:
    """The one line ``analyzer ingest`` prints (and the dashboard shows) after an import:
    posts (a thread's article or submission) counted apart from the comments under them."""
    s = summary
    seen = f" ({s.sources_seen_before} already imported)" if s.sources_seen_before else ""
    added, updated, unchanged = s.only_comments
    posts = s.posts_added + s.posts_updated + s.posts_unchanged
    post_part = (
        f"posts {s.posts_added} added, {s.posts_updated} updated, {s.posts_unchanged} unchanged; " if posts else ""
    )
    return (
        f"{s.sources} source(s){seen}, {n_threads} thread(s) into {where}: "
        f"threads {s.threads_added} added, {s.threads_updated} updated, {s.threads_unchanged} unchanged; "
        f"{post_part}comments {added} added, {updated} updated, {unchanged} unchanged, "
        f"{s.repaired} repaired; scores {s.scores_added} added"
    )
