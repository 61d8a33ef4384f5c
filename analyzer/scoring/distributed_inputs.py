"""The Dask engine's units of work: input files found (comment files and Parquet), each
read on a worker and cut into partitions of whole threads (a thread bigger than a
partition is cut into consecutive slices of its pre-order), as DataFrames of parse records.

pandas is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from analyzer.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from analyzer.thread import Thread

PARTITION_COMMENTS = 1000  # comments per partition: seconds of work, enough to sort by length
PARQUET_SUFFIXES = {".parquet", ".pq"}
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
T = TypeVar("T")


def pack(groups: Iterable[Sequence[T]], size: int) -> list[list[T]]:
    """Items in partitions of about ``size``: whole groups (threads) packed together in
    order; a group bigger than ``size`` alone, cut into slices of ``size``."""
    parts: list[list[T]] = []
    current: list[T] = []
    for group in groups:
        if len(group) > size:
            if current:
                parts.append(current)
                current = []
            parts.extend(list(group[i : i + size]) for i in range(0, len(group), size))
            continue
        if current and len(current) + len(group) > size:
            parts.append(current)
            current = []
        current.extend(group)
    if current:
        parts.append(current)
    return parts


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
            found += [("parquet", str(p)) for p in _parquet_files(path)]
        if not found:
            raise InputError("no comment files or Parquet files in this folder", source=str(raw))
        units.extend(found)
    return units


def _parquet_files(folder: Path) -> list[Path]:
    """The Parquet files under ``folder``, sorted, none under a hidden or "_" name."""
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.suffix.lower() in PARQUET_SUFFIXES
        and p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    ]


def partition_threads(threads: Iterable[Thread], size: int = PARTITION_COMMENTS) -> list[list[dict[str, Any]]]:
    """Parse records grouped into partitions of about ``size`` records: whole threads
    packed together in order; a thread bigger than ``size`` alone, cut into slices."""
    return pack((list(thread.records()) for thread in threads), size)


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
    groups = (sorted(idx) for idx in frame.groupby("thread_id", sort=False, dropna=False).indices.values())
    return [frame.iloc[p].reset_index(drop=True) for p in pack(groups, size)]


def load_or_error(kind: str, path: str, **kwargs: Any) -> list[pd.DataFrame] | str:
    """``load_unit``, with a bad input returned as its message: it is the user's to fix,
    so it is reported, not retried."""
    try:
        return load_unit(kind, path, **kwargs)
    except InputError as exc:
        return f"error: {exc}"


def describe(loaded: list[pd.DataFrame] | str) -> tuple[int, int, str | None]:
    """(partitions, records, error) of a loaded unit: small, so it can travel to the client."""
    if isinstance(loaded, str):
        return 0, 0, loaded
    return len(loaded), sum(len(f) for f in loaded), None


def pick(loaded: list[pd.DataFrame], index: int) -> pd.DataFrame:
    """One partition of a loaded unit (a task, so the partition stays on the cluster)."""
    return loaded[index]
