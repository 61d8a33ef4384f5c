"""The Parquet dataset the Dask engine writes: one part file per partition, written
atomically by the worker that scored it (so nothing funnels through the client), stale
parts of earlier runs removed, and the score cache a re-run resumes from beside them.

pandas and pyarrow are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

CACHE_NAME = "_score_cache.sqlite"  # inside --out: "_" files are not part of the dataset
PART_PATTERN = re.compile(r"part-\d{5}-\d{5}\.parquet")


def part_path(out_dir: Path, unit: int, part: int) -> str:
    """The absolute path of partition ``part`` of input ``unit`` (parts sort in input order)."""
    return str((out_dir / f"part-{unit:05d}-{part:05d}.parquet").resolve())


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


def remove_stale_parts(out_dir: Path, written: list[str]) -> None:
    """Delete the part files of earlier runs that this run did not write again, so the
    folder holds exactly this run's output."""
    keep = {Path(p).name for p in written}
    for stale in out_dir.iterdir():
        if PART_PATTERN.fullmatch(stale.name) and stale.name not in keep:
            stale.unlink()


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
