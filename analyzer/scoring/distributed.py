"""Score comment files on a Dask cluster, when one machine is not enough.

Inputs are files or folders of any format ``analyzer parse`` reads, or Parquet files
(with a ``text`` column, and ``thread_id`` when there are threads). Each input is parsed on
a worker and cut into partitions of whole threads (a thread bigger than a partition is cut
into consecutive slices of its pre-order), and each partition is scored on a worker by
``analyzer.scoring.frames.score_frame``: models load once per worker process, and a worker's
``--nthreads`` is the number of torch threads it scores with.

Results go to a Parquet dataset (one part file per partition, written by the worker that
scored it, so nothing funnels through the client) or back to the caller (``score_records``,
which ``analyzer ingest --engine dask`` uses before writing the store). A task that fails
is retried (``retries``); a task whose worker dies is rerun elsewhere by the scheduler.
An interrupted run resumes without rescoring: every worker reads and writes the same
SQLite score cache, so texts already scored are looked up, not run again.

dask and distributed are imported inside the functions that need them (the ``dask`` extra).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import AnalyzerError, InputError, MissingExtra
from analyzer.scoring.frames import DEFAULT_PRECISION, MODELS_COLUMN, WINDOWED_COLUMN, output_labels, scores_of

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client, Future

    from analyzer.scoring.classifier import Classifier
    from analyzer.store import ImportBatch, Store
    from analyzer.thread import Thread

PARTITION_COMMENTS = 1000  # comments per partition: seconds of work, enough to sort by length
PARQUET_SUFFIXES = {".parquet", ".pq"}
CACHE_NAME = "_score_cache.sqlite"  # inside --out: "_" files are not part of the dataset
PART_PATTERN = re.compile(r"part-\d{5}-\d{5}\.parquet")
WORKER_MEMORY = 1_500_000_000  # bytes a worker needs for two MiniLM-size models and a partition
RECORD_COLUMNS = (
    "thread_id",
    "id",
    "kind",
    "parent_id",
    "depth",
    "author",
    "author_inferred",
    "created_at",
    "text",
    "extra",
)
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
            num_threads=self.num_threads or _worker_threads(),
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


# ---------------------------------------------------------------------- the cluster
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536. Any explicit glibc malloc
# threshold turns off glibc's adaptive mmap threshold, so every activation tensor is
# mmap'd and unmapped afresh: torch inference ran a third slower (int8, 19.6 against 29.1
# comments/s per core here). None unsets it (``dask worker`` users: see docs/scaling.md).
WORKER_DASK_CONFIG: dict[str, Any] = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster_size(cores: int | None = None, memory: int | None = None) -> tuple[int, int]:
    """(worker processes, threads each) for a LocalCluster on this machine: one process
    per core while memory allows (processes scale better than torch threads on a few
    cores), the cores shared out among them."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if memory is None:
        import psutil

        memory = psutil.virtual_memory().available
    workers = max(1, min(cores, memory // WORKER_MEMORY))
    return workers, max(1, cores // workers)


@contextmanager
def connect(
    scheduler: str | None = None, *, n_workers: int | None = None, threads_per_worker: int | None = None
) -> Iterator[Client]:
    """A Client of the scheduler at ``scheduler`` (tcp://host:8786), or of a LocalCluster
    sized to this machine (``local_cluster_size``) that is closed afterwards."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise MissingExtra("dask", "the dask engine") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise AnalyzerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    import dask

    workers, threads = local_cluster_size()
    from analyzer.scoring.frames import OPENMP_ENV

    env = {key: os.environ.get(key, value) for key, value in OPENMP_ENV.items()}
    with (
        dask.config.set(WORKER_DASK_CONFIG),
        LocalCluster(
            n_workers=n_workers or workers,
            threads_per_worker=threads_per_worker or threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            env=env,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def warm_up(client: Client, options: ScoreOptions) -> int:
    """Load the models on every worker now (each loads them once anyway), so a model error
    shows before any work is sent and timings exclude loading; returns the worker count."""
    from analyzer.scoring.frames import load_classifiers

    done = client.run(load_classifiers, options.model_dirs, precision=options.precision, device=options.device)
    return len(done)


def _worker_threads() -> int | None:
    """The --nthreads of the Dask worker running this task (None outside a worker)."""
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


# ---------------------------------------------------------------------- inputs
def input_files(inputs: Sequence[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """(kind, path) for every unit of work: "parquet" for Parquet files, "parse" for what
    ``analyzer parse`` reads; folders are walked (both kinds). InputError when an input
    does not exist or holds nothing to read."""
    from analyzer.parsers import input_units

    units: list[tuple[str, str]] = []
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or folder", source=str(raw))
        if path.is_file() and path.suffix.lower() in PARQUET_SUFFIXES:
            units.append(("parquet", str(path)))
            continue
        found = [("parse", str(u)) for u in input_units([path])]
        if path.is_dir():
            found += [
                ("parquet", str(p))
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in PARQUET_SUFFIXES
                and p.is_file()
                and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
            ]
        if not found:
            raise InputError("no comment files or Parquet files in this folder", source=str(raw))
        units.extend(found)
    return units


def partition_threads(threads: Iterable[Thread], size: int = PARTITION_COMMENTS) -> list[list[dict[str, Any]]]:
    """Parse records grouped into partitions of about ``size`` records: whole threads
    packed together in order; a thread bigger than ``size`` alone, cut into slices."""
    parts: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for thread in threads:
        records = list(thread.records())
        if len(records) > size:
            if current:
                parts.append(current)
                current = []
            parts.extend(records[i : i + size] for i in range(0, len(records), size))
            continue
        if current and len(current) + len(records) > size:
            parts.append(current)
            current = []
        current.extend(records)
    if current:
        parts.append(current)
    return parts


def records_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Parse records as a DataFrame (``extra`` as a JSON string, so Parquet can hold it)."""
    import pandas as pd

    rows = [
        {
            **{c: r.get(c) for c in RECORD_COLUMNS},
            "extra": json.dumps(r.get("extra") or {}, ensure_ascii=False, sort_keys=True, default=str),
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))


def load_unit(
    kind: str,
    path: str,
    *,
    format: str | None = None,
    now: datetime | None = None,
    columns: Mapping[str, str] | None = None,
    size: int = PARTITION_COMMENTS,
) -> list[pd.DataFrame]:
    """One input as partition frames (runs on a worker)."""
    if kind == "parquet":
        return _parquet_partitions(path, size)
    from analyzer.parsers import parse_path

    threads = parse_path(path, format=format, now=now, columns=columns)
    return [records_frame(part) for part in partition_threads(threads, size)]


def _parquet_partitions(path: str, size: int) -> list[pd.DataFrame]:
    """A Parquet file's rows, grouped by ``thread_id`` (when there is one) like parsed threads."""
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read Parquet: {exc}", source=path) from None
    if "text" not in frame.columns:
        raise InputError(f"no 'text' column (columns: {', '.join(map(str, frame.columns))})", source=path)
    frame = frame.reset_index(drop=True)
    if "thread_id" not in frame.columns:
        return [frame.iloc[i : i + size].reset_index(drop=True) for i in range(0, len(frame), size)]
    groups = [idx for _, idx in frame.groupby("thread_id", sort=False, dropna=False).indices.items()]
    parts: list[list[int]] = []
    current: list[int] = []
    for rows in groups:
        rows = sorted(rows)
        if len(rows) > size:
            if current:
                parts.append(current)
                current = []
            parts.extend(list(rows[i : i + size]) for i in range(0, len(rows), size))
            continue
        if current and len(current) + len(rows) > size:
            parts.append(current)
            current = []
        current.extend(rows)
    if current:
        parts.append(current)
    return [frame.iloc[p].reset_index(drop=True) for p in parts]


def _load_or_error(kind: str, path: str, **kwargs: Any) -> list[pd.DataFrame] | str:
    """``load_unit``, with a bad input returned as its message: it is the user's to fix,
    so it is reported, not retried."""
    try:
        return load_unit(kind, path, **kwargs)
    except InputError as exc:
        return f"error: {exc}"


def _describe(loaded: list[pd.DataFrame] | str) -> tuple[int, int, str | None]:
    """(partitions, records, error) of a loaded unit: small, so it can travel to the client."""
    if isinstance(loaded, str):
        return 0, 0, loaded
    return len(loaded), sum(len(f) for f in loaded), None


def _nonce() -> str:
    """Keeps task keys unique on a long-lived cluster that ran the same inputs before."""
    return uuid.uuid4().hex[:12]


def _pick(loaded: list[pd.DataFrame], index: int) -> pd.DataFrame:
    return loaded[index]


# ---------------------------------------------------------------------- outputs
def write_part(frame: pd.DataFrame, path: str | os.PathLike[str]) -> str:
    """Write one partition as Parquet, atomically (a part file is complete or absent)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest = Path(path)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for i, name in enumerate(schema.names):  # all-None columns: give them their real type
        if schema.field(i).type == pa.null():
            schema = schema.set(i, pa.field(name, pa.int64() if name == "depth" else pa.string()))
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, tmp)
    os.replace(tmp, dest)
    return str(dest)


def _score_part(frame: pd.DataFrame, options: ScoreOptions, dest: str | None) -> pd.DataFrame | tuple[str, int]:
    """Score one partition (on a worker); write it to ``dest`` when given, else return it."""
    scored = options.score(frame)
    if dest is None:
        return scored
    return write_part(scored, dest), len(scored)


# ---------------------------------------------------------------------- running
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
    report = on_error or (lambda message: None)
    step = progress or (lambda n: None)
    summary = RunSummary(inputs=len(units))
    load_kwargs = {"format": format, "now": now, "columns": dict(columns or {}), "size": partition_size}

    def dest(u: int, p: int) -> str:
        return str((out_dir / f"part-{u:05d}-{p:05d}.parquet").resolve())

    if client is None:
        for u, (kind, path) in enumerate(units):
            loaded = _load_or_error(kind, path, **load_kwargs)
            if isinstance(loaded, str):
                summary.errors.append(loaded)
                report(loaded)
                continue
            for p, frame in enumerate(loaded):
                written, n = _score_part(frame, options, dest(u, p))  # type: ignore[misc]
                summary.parts.append(written)
                summary.records += n
                summary.partitions += 1
                step(n)
    else:
        summary.workers = warm_up(client, options)
        _run_on_cluster(client, units, options, load_kwargs, dest, retries, summary, report, step)
    summary.parts.sort()
    keep = {Path(p).name for p in summary.parts}
    for stale in out_dir.iterdir():
        if PART_PATTERN.fullmatch(stale.name) and stale.name not in keep:
            stale.unlink()
    summary.seconds = time.perf_counter() - started
    return summary


def _run_on_cluster(
    client: Client,
    units: list[tuple[str, str]],
    options: ScoreOptions,
    load_kwargs: dict[str, Any],
    dest: Callable[[int, int], str],
    retries: int,
    summary: RunSummary,
    report: Callable[[str], None],
    step: Progress,
) -> None:
    """Submit one load task per input and one score task per partition as soon as its
    input is loaded, so parsing and scoring overlap across the cluster."""
    from distributed import as_completed

    loads: dict[str, tuple[int, Future]] = {}
    described = as_completed()
    for u, (kind, path) in enumerate(units):
        token = hashlib.sha1(f"{u}:{path}".encode()).hexdigest()[:10]
        loaded = client.submit(
            _load_or_error, kind, path, **load_kwargs, key=f"load-{token}-{_nonce()}", retries=retries
        )
        info = client.submit(_describe, loaded, key=f"describe-{token}-{_nonce()}")
        loads[info.key] = (u, loaded)
        described.add(info)
    scoring = as_completed()
    pending = 0
    try:
        for info in described:
            u, loaded = loads.pop(info.key)
            n_parts, _, error = info.result()
            if error is not None:
                summary.errors.append(error)
                report(error)
                continue
            for p in range(n_parts):
                frame = client.submit(_pick, loaded, p, key=f"pick-{u:05d}-{p:05d}-{_nonce()}")
                scoring.add(
                    client.submit(
                        _score_part,
                        frame,
                        options,
                        dest(u, p),
                        retries=retries,
                        key=f"score-part-{u:05d}-{p:05d}-{_nonce()}",
                    )
                )
                pending += 1
            del loaded  # the partitions hold their own reference now
        for done in scoring:
            written, n = done.result()
            summary.parts.append(written)
            summary.records += n
            summary.partitions += 1
            step(n)
    except BaseException:
        client.cancel(list(scoring.futures) + [f for _, f in loads.values()])
        raise


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
    order: list[list[int]] = []
    by_thread: dict[Any, list[int]] = {}
    for i, record in enumerate(records):
        by_thread.setdefault(record.get("thread_id"), []).append(i)
    current: list[int] = []
    for rows in by_thread.values():
        for start in range(0, len(rows), partition_size):
            piece = rows[start : start + partition_size]
            if current and len(current) + len(piece) > partition_size:
                order.append(current)
                current = []
            current.extend(piece)
    if current:
        order.append(current)
    frames = [pd.DataFrame({"text": [records[i].get("text") or "" for i in rows]}) for rows in order]
    labels = (
        output_labels(options.model_dirs, precision=options.precision, device=options.device)
        if client is None
        else None
    )
    results: list[pd.DataFrame | None] = [None] * len(frames)
    if client is None:
        for k, frame in enumerate(frames):
            results[k] = _score_part(frame, options, None)  # type: ignore[assignment]
            step(len(frame))
    elif frames:
        from distributed import as_completed

        warm_up(client, options)
        labels = client.submit(
            output_labels, options.model_dirs, precision=options.precision, device=options.device, pure=False
        ).result()
        futures = {}
        for k, remote in enumerate(client.scatter(frames)):
            futures[
                client.submit(
                    _score_part, remote, options, None, retries=retries, key=f"score-part-records-{k:05d}-{_nonce()}"
                )
            ] = k
        for done in as_completed(list(futures)):
            results[futures[done]] = done.result()
            step(len(frames[futures[done]]))
    out: list[dict[str, Any]] = [dict(r) for r in records]
    for rows, scored in zip(order, results):
        for i, row in zip(rows, scored.to_dict("records") if scored is not None else []):
            scores, models, windowed = scores_of(row, labels or [])
            out[i]["scores"], out[i]["models"], out[i]["windowed"] = scores, models, windowed
    return out


def score_batches(
    store: Store,
    batches: Sequence[ImportBatch],
    classifiers: Sequence[Classifier],
    *,
    client: Client | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    precision: str | None = None,
    partition_size: int = PARTITION_COMMENTS,
    retries: int = 2,
    progress: Progress | None = None,
) -> None:
    """``pipeline.score_batches`` with the scoring on a Dask cluster: records whose current
    text the store already scored with these models are skipped, the rest are scored by
    the same model folders on the workers (at ``precision``, by default the classifiers')
    and attached to their batches."""
    from analyzer.scoring.frames import resolve_model_dirs
    from analyzer.store.importing import text_hash

    step = progress or (lambda n: None)
    thread_ids = [t.id for b in batches for t in b.threads]
    done = store.scored_text_hashes(thread_ids, [c.fingerprint for c in classifiers])
    todo: list[list[dict[str, Any]]] = []
    for batch in batches:
        records = [r for t in batch.threads for r in t.records()]
        keep = [r for r in records if done.get((r["thread_id"], r["id"])) != text_hash(r["text"] or "")]
        if len(records) > len(keep):
            step(len(records) - len(keep))
        todo.append(keep)
    folders = [c.config.source or "" for c in classifiers]
    if not all(folders):
        raise AnalyzerError("the dask engine needs models loaded from folders every worker can read")
    options = ScoreOptions(
        model_dirs=resolve_model_dirs(folders),
        precision=precision or classifiers[0].precision,
        batch_size=batch_size,
        device=device,
    )
    scored = score_records(
        [r for keep in todo for r in keep],
        options,
        client=client,
        partition_size=partition_size,
        retries=retries,
        progress=step,
    )
    start = 0
    for batch, keep in zip(batches, todo):
        batch.records = scored[start : start + len(keep)]
        start += len(keep)


def read_dataset(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The Parquet dataset ``score_files`` wrote, parts in order, as one DataFrame."""
    import pandas as pd

    parts = sorted(p for p in Path(out).iterdir() if PART_PATTERN.fullmatch(p.name))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def default_cache(out: str | os.PathLike[str] | None) -> str | None:
    """The score cache a run uses when none is named: ``$THREAD_ANALYZER_CACHE``, else
    ``_score_cache.sqlite`` inside the output folder (so re-running resumes)."""
    from analyzer.scoring.cache import ENV_CACHE

    if os.environ.get(ENV_CACHE):
        return os.environ[ENV_CACHE]
    return str((Path(out) / CACHE_NAME).resolve()) if out is not None else None


__all__ = [
    "MODELS_COLUMN",
    "WINDOWED_COLUMN",
    "RunSummary",
    "ScoreOptions",
    "connect",
    "input_files",
    "local_cluster_size",
    "partition_threads",
    "read_dataset",
    "records_frame",
    "score_batches",
    "score_files",
    "score_records",
    "warm_up",
    "write_part",
]
