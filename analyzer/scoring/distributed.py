"""Score comment files on a Dask cluster, when one machine is not enough.

Inputs are files or folders of any format ``analyzer parse`` reads, or Parquet files
(with a ``text`` column, and ``thread_id`` when there are threads). Each input is parsed on
a worker and cut into partitions of whole threads (``distributed_inputs``), and each
partition is scored on a worker by ``analyzer.scoring.frames.score_frame``: models load
once per worker process, and a worker's ``--nthreads`` is the number of torch threads it
scores with.

Results go to a Parquet dataset (``distributed_outputs``: one part file per partition,
written by the worker that scored it, so nothing funnels through the client) or back to
the caller (``score_records`` and ``score_groups``, which ``analyzer ingest --engine dask``
uses before writing the store; the store itself is the caller's, never this module's). A
task that fails is retried (``retries``); a task whose worker dies is rerun elsewhere by the
scheduler. An interrupted run resumes without rescoring: every worker reads and writes the
same SQLite score cache, so texts already scored are looked up, not run again.

dask and distributed are imported inside the functions that need them (the ``dask`` extra;
``distributed_cluster`` holds the cluster).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import AnalyzerError
from analyzer.scoring.distributed_cluster import connect, local_cluster_size, warm_up, worker_threads
from analyzer.scoring.distributed_inputs import (
    PARTITION_COMMENTS,
    describe,
    input_files,
    load_or_error,
    pack,
    partition_threads,
    pick,
    records_frame,
)
from analyzer.scoring.distributed_outputs import (
    CACHE_NAME,
    default_cache,
    part_path,
    read_dataset,
    remove_stale_parts,
    write_part,
)
from analyzer.scoring.frames import DEFAULT_PRECISION, MODELS_COLUMN, WINDOWED_COLUMN, output_labels, scores_of

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client, Future

    from analyzer.scoring.classifier import Classifier

Progress = Callable[[int], None]


@dataclass
class ScoreOptions:
    """How every worker scores: the same models (absolute paths that every worker can
    read), precision, batch size, device and score cache."""

    model_dirs: list[str]
    precision: str = DEFAULT_PRECISION
    batch_size: int | None = None  # None: the Scorer's default for the device
    device: str | None = None
    num_threads: int | None = None  # None: the worker's --nthreads
    cache: str | None = None  # SQLite score cache path

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``score_frame`` with these options, in whatever process runs it."""
        from analyzer.scoring.frames import score_frame

        return score_frame(
            frame,
            self.model_dirs,
            precision=self.precision,
            batch_size=self.batch_size,
            device=self.device,
            num_threads=self.num_threads or worker_threads(),
            cache=self.cache,
        )


@dataclass
class RunSummary:
    """What a run did: for the CLI's last line and the benchmarks."""

    inputs: int = 0
    partitions: int = 0
    records: int = 0
    parts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    workers: int = 0
    seconds: float = 0.0


def options_for(
    classifiers: Sequence[Classifier],
    *,
    precision: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
) -> ScoreOptions:
    """Options that make the workers score with the folders these loaded classifiers came
    from (at ``precision``, by default the classifiers'); an error when one was not loaded
    from a folder, since every worker loads its own copy."""
    from analyzer.scoring.frames import resolve_model_dirs

    folders = [c.config.source or "" for c in classifiers]
    if not all(folders):
        raise AnalyzerError("the dask engine needs models loaded from folders every worker can read")
    return ScoreOptions(
        model_dirs=resolve_model_dirs(folders),
        precision=precision or classifiers[0].precision,
        batch_size=batch_size,
        device=device,
    )


def _nonce() -> str:
    """Keeps task keys unique on a long-lived cluster that ran the same inputs before."""
    return uuid.uuid4().hex[:12]


def _score_part(frame: pd.DataFrame, options: ScoreOptions) -> pd.DataFrame:
    """Score one partition (on a worker) and return it."""
    return options.score(frame)


def _score_part_to(frame: pd.DataFrame, options: ScoreOptions, dest: str) -> tuple[str, int]:
    """Score one partition (on a worker) into the part file ``dest``: (its path, rows)."""
    scored = options.score(frame)
    return write_part(scored, dest), len(scored)


# ---------------------------------------------------------------------- files to a dataset
def score_files(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    options: ScoreOptions,
    *,
    client: Client | None = None,
    format: str | None = None,
    now: datetime | None = None,
    columns: Mapping[str, str] | None = None,
    partition_size: int = PARTITION_COMMENTS,
    retries: int = 2,
    progress: Progress | None = None,
    on_error: Callable[[str], None] | None = None,
) -> RunSummary:
    """Parse and score ``inputs`` into the Parquet dataset folder ``out`` (one
    ``part-UUUUU-PPPPP.parquet`` per partition, in input order).

    With ``client`` the work runs on its cluster; without, in this process (the same
    functions, one partition after another). A bad input is reported through ``on_error``
    and skipped; a model error stops the run. Part files of earlier runs that this run did
    not write again are removed at the end, so the folder holds exactly this run's output.
    """
    started = time.perf_counter()
    units = input_files(inputs)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise AnalyzerError("--out must be a folder (a Parquet dataset), not a file", source=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _FileRun(
        options=options,
        out_dir=out_dir,
        load_kwargs={"format": format, "now": now, "columns": dict(columns or {}), "size": partition_size},
        report=on_error or (lambda message: None),
        step=progress or (lambda n: None),
        summary=RunSummary(inputs=len(units)),
    )
    if client is None:
        run.here(units)
    else:
        run.summary.workers = warm_up(client, options.model_dirs, precision=options.precision, device=options.device)
        run.on_cluster(client, units, retries)
    run.summary.parts.sort()
    remove_stale_parts(out_dir, run.summary.parts)
    run.summary.seconds = time.perf_counter() - started
    return run.summary


@dataclass
class _FileRun:
    """One ``score_files`` run: what every step needs, and the summary it fills in."""

    options: ScoreOptions
    out_dir: Path
    load_kwargs: dict[str, Any]
    report: Callable[[str], None]
    step: Progress
    summary: RunSummary

    def failed(self, error: str) -> None:
        self.summary.errors.append(error)
        self.report(error)

    def wrote(self, written: str, n: int) -> None:
        self.summary.parts.append(written)
        self.summary.records += n
        self.summary.partitions += 1
        self.step(n)

    def here(self, units: list[tuple[str, str]]) -> None:
        """Every input loaded and scored in this process, one partition after another."""
        for u, (kind, path) in enumerate(units):
            loaded = load_or_error(kind, path, **self.load_kwargs)
            if isinstance(loaded, str):
                self.failed(loaded)
                continue
            for p, frame in enumerate(loaded):
                self.wrote(*_score_part_to(frame, self.options, part_path(self.out_dir, u, p)))

    def on_cluster(self, client: Client, units: list[tuple[str, str]], retries: int) -> None:
        """Submit one load task per input and one score task per partition as soon as its
        input is loaded, so parsing and scoring overlap across the cluster."""
        from distributed import as_completed

        loads: dict[Any, tuple[int, Future]] = {}
        described = as_completed()
        for u, (kind, path) in enumerate(units):
            token = hashlib.sha1(f"{u}:{path}".encode()).hexdigest()[:10]
            loaded = client.submit(
                load_or_error, kind, path, **self.load_kwargs, key=f"load-{token}-{_nonce()}", retries=retries
            )
            info = client.submit(describe, loaded, key=f"describe-{token}-{_nonce()}")
            loads[info.key] = (u, loaded)
            described.add(info)
        scoring = as_completed()
        try:
            for info in described:
                u, loaded = loads.pop(info.key)
                n_parts, _, error = info.result()
                if error is not None:
                    self.failed(error)
                    continue
                for p in range(n_parts):
                    scoring.add(self._submit_part(client, loaded, u, p, retries))
                del loaded  # the partitions hold their own reference now
            for done in scoring:
                self.wrote(*done.result())
        except BaseException:
            client.cancel(list(scoring.futures) + [f for _, f in loads.values()])
            raise

    def _submit_part(self, client: Client, loaded: Future, u: int, p: int, retries: int) -> Future:
        """The task that scores partition ``p`` of input ``u`` into its part file."""
        frame = client.submit(pick, loaded, p, key=f"pick-{u:05d}-{p:05d}-{_nonce()}")
        return client.submit(
            _score_part_to,
            frame,
            self.options,
            part_path(self.out_dir, u, p),
            retries=retries,
            key=f"score-part-{u:05d}-{p:05d}-{_nonce()}",
        )


# ---------------------------------------------------------------------- records back to the caller
def score_records(
    records: Sequence[Mapping[str, Any]],
    options: ScoreOptions,
    *,
    client: Client | None = None,
    partition_size: int = PARTITION_COMMENTS,
    retries: int = 2,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Each record with ``scores``, ``models`` and ``windowed`` added, exactly as
    ``Scorer.score_records`` adds them, with the scoring spread over ``client``'s cluster
    (or done here without one). Records are partitioned by ``thread_id`` like files are;
    only their texts travel to the workers."""
    import pandas as pd

    step = progress or (lambda n: None)
    by_thread: dict[Any, list[int]] = {}
    for i, record in enumerate(records):
        by_thread.setdefault(record.get("thread_id"), []).append(i)
    order = pack(by_thread.values(), partition_size)
    frames = [pd.DataFrame({"text": [records[i].get("text") or "" for i in rows]}) for rows in order]
    if client is None:
        labels = output_labels(options.model_dirs, precision=options.precision, device=options.device)
        results = _score_frames_here(frames, options, step)
    else:
        labels, results = _score_frames_on_cluster(client, frames, options, retries, step)
    out: list[dict[str, Any]] = [dict(r) for r in records]
    for rows, scored in zip(order, results):
        for i, row in zip(rows, scored.to_dict("records") if scored is not None else []):
            scores, models, windowed = scores_of(row, labels)
            out[i]["scores"], out[i]["models"], out[i]["windowed"] = scores, models, windowed
    return out


def score_groups(
    groups: Sequence[Sequence[Mapping[str, Any]]],
    options: ScoreOptions,
    *,
    client: Client | None = None,
    partition_size: int = PARTITION_COMMENTS,
    retries: int = 2,
    progress: Progress | None = None,
) -> list[list[dict[str, Any]]]:
    """``score_records`` over several lists of records at once (one per import batch, say),
    the scored records handed back in the same lists."""
    scored = score_records(
        [r for group in groups for r in group],
        options,
        client=client,
        partition_size=partition_size,
        retries=retries,
        progress=progress,
    )
    out: list[list[dict[str, Any]]] = []
    start = 0
    for group in groups:
        out.append(scored[start : start + len(group)])
        start += len(group)
    return out


def _score_frames_here(frames: list[pd.DataFrame], options: ScoreOptions, step: Progress) -> list[pd.DataFrame]:
    results = []
    for frame in frames:
        results.append(_score_part(frame, options))
        step(len(frame))
    return results


def _score_frames_on_cluster(
    client: Client, frames: list[pd.DataFrame], options: ScoreOptions, retries: int, step: Progress
) -> tuple[list[str], list[pd.DataFrame | None]]:
    """(the models' output labels, each frame scored) with the frames scattered over the cluster."""
    results: list[pd.DataFrame | None] = [None] * len(frames)
    if not frames:
        return [], results
    from distributed import as_completed

    warm_up(client, options.model_dirs, precision=options.precision, device=options.device)
    labels: list[str] = client.submit(
        output_labels, options.model_dirs, precision=options.precision, device=options.device, pure=False
    ).result()
    futures = {}
    for k, remote in enumerate(client.scatter(frames)):
        key = f"score-part-records-{k:05d}-{_nonce()}"
        futures[client.submit(_score_part, remote, options, retries=retries, key=key)] = k
    for done in as_completed(list(futures)):
        results[futures[done]] = done.result()
        step(len(frames[futures[done]]))
    return labels, results


__all__ = [
    "CACHE_NAME",
    "MODELS_COLUMN",
    "WINDOWED_COLUMN",
    "RunSummary",
    "ScoreOptions",
    "connect",
    "default_cache",
    "input_files",
    "local_cluster_size",
    "options_for",
    "partition_threads",
    "read_dataset",
    "records_frame",
    "score_files",
    "score_groups",
    "score_records",
    "warm_up",
    "write_part",
]
