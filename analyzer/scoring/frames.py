"""The scoring step as a plain pandas function: a DataFrame of comments in, the same rows
with one float column per canonical label, ``models`` and ``windowed`` out.

That shape is what every batch engine speaks. Dask (``analyzer.scoring.distributed``), Spark's
``mapInPandas`` and Ray Data's ``map_batches`` all call a function on pandas batches inside
long-lived worker processes, so the models are loaded once per process and kept
(``load_classifiers``); only the first batch a process sees pays for loading them.

    from analyzer.scoring.frames import score_frame
    scored = score_frame(pd.DataFrame({"text": ["you idiot", "thanks!"]}), ["models/toxicity-minilm"])
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from analyzer.scoring.classifier import Classifier

MODELS_COLUMN = "models"
WINDOWED_COLUMN = "windowed"
DEFAULT_PRECISION = "auto"  # as the CLI: int8 on a CPU, bfloat16 on a GPU (Classifier.from_pretrained)

# Classifiers loaded in this process, keyed by (model folders, precision, device). A worker
# process of Dask, Spark or Ray keeps them between batches.
_LOADED: dict[tuple[tuple[str, ...], str, str], list[Classifier]] = {}
_LOAD_LOCK = threading.Lock()
# One batch scores at a time per process: torch already uses every thread it is given,
# and a SQLite connection must stay in the thread that opened it.
_SCORE_LOCK = threading.Lock()


# OpenMP threads that spin while they wait for work make torch several times slower
# whenever anything else wants a core (measured: 9 instead of 25 comments/s in float32 on
# two busy-ish cores); sleeping waiters cost nothing measurable on an idle machine.
OPENMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def quiet_openmp() -> None:
    """Make OpenMP threads sleep rather than spin while waiting, unless the user chose
    otherwise. Call it before torch is imported (OpenMP reads it once, when loaded)."""
    for key, value in OPENMP_ENV.items():
        os.environ.setdefault(key, value)


def resolve_model_dirs(model_dirs: Iterable[str | os.PathLike[str]] | None = None) -> list[str]:
    """Absolute model folders (the default models when none are given), so every worker
    process, whatever its working directory, loads the same models."""
    dirs = [str(d) for d in (model_dirs or ())]
    if not dirs:
        from analyzer.scoring.defaults import default_model_dirs

        dirs = [str(d) for d in default_model_dirs()]
    return [str(Path(d).expanduser().resolve()) for d in dirs]


def load_classifiers(
    model_dirs: Iterable[str | os.PathLike[str]] | None = None,
    *,
    precision: str = DEFAULT_PRECISION,
    device: str | None = None,
) -> list[Classifier]:
    """The classifiers in ``model_dirs``, loaded on the first call in this process and
    reused by every later call with the same arguments."""
    from analyzer.scoring.classifier import Classifier

    dirs = resolve_model_dirs(model_dirs)
    key = (tuple(dirs), precision, str(device))
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = [Classifier.from_pretrained(d, device=device, precision=precision) for d in dirs]
        return _LOADED[key]


def output_labels(
    model_dirs: Iterable[str | os.PathLike[str]] | None = None,
    *,
    precision: str = DEFAULT_PRECISION,
    device: str | None = None,
) -> list[str]:
    """The label columns ``score_frame`` adds for these models, in order."""
    classifiers = load_classifiers(model_dirs, precision=precision, device=device)
    return list(dict.fromkeys(label for clf in classifiers for label in clf.labels))


def spark_columns(
    model_dirs: Iterable[str | os.PathLike[str]] | None = None, *, precision: str = DEFAULT_PRECISION
) -> str:
    """The added columns as a Spark DDL fragment ("toxicity double, ..., models string,
    windowed boolean"), to append to the input schema for ``mapInPandas``."""
    labels = output_labels(model_dirs, precision=precision, device="cpu")
    columns = [f"{label} double" for label in labels] + [f"{MODELS_COLUMN} string", f"{WINDOWED_COLUMN} boolean"]
    return ", ".join(columns)


def score_frame(
    df: pd.DataFrame,
    model_dirs: Iterable[str | os.PathLike[str]] | None = None,
    *,
    text_column: str = "text",
    precision: str = DEFAULT_PRECISION,
    batch_size: int | None = None,
    device: str | None = None,
    num_threads: int | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """``df`` with one float64 column per label (NaN where a text has no score, e.g. an
    empty one), ``models`` (JSON: label -> "name@fingerprint") and ``windowed`` added;
    existing columns of those names are replaced, the input frame is not modified.

    ``cache`` is a SQLite score cache file: texts already scored by these models are read
    from it instead of run again, which is how an interrupted run resumes.
    """
    import pandas as pd

    from analyzer.scoring.cache import ScoreCache
    from analyzer.scoring.scorer import Scorer

    if text_column not in df.columns:
        raise KeyError(f"score_frame: no {text_column!r} column among {list(df.columns)}")
    classifiers = load_classifiers(model_dirs, precision=precision, device=device)
    texts = ["" if pd.isna(t) else str(t) for t in df[text_column].tolist()]
    with _SCORE_LOCK, ScoreCache(cache) if cache else nullcontext(None) as score_cache:
        scorer = Scorer(
            classifiers,
            batch_size=batch_size,
            cache=score_cache,
            num_threads=num_threads,
            chunk_size=max(1, min(len(texts), 8192)),
        )
        results = scorer.score_texts(texts)
        labels = scorer.labels
    out = df.copy(deep=False)
    nan = float("nan")
    for label in labels:
        out[label] = pd.Series([r.scores.get(label, nan) for r in results], index=df.index, dtype="float64")
    out[MODELS_COLUMN] = pd.Series(
        [json.dumps(r.models, sort_keys=True) for r in results], index=df.index, dtype="object"
    )
    out[WINDOWED_COLUMN] = pd.Series([bool(r.windowed) for r in results], index=df.index, dtype="bool")
    return out


def score_frames(
    frames: Iterable[pd.DataFrame], model_dirs: Iterable[str | os.PathLike[str]] | None = None, **options: Any
) -> Iterator[pd.DataFrame]:
    """``score_frame`` over an iterator of batches: the function Spark's ``mapInPandas`` wants."""
    dirs = resolve_model_dirs(model_dirs)
    for frame in frames:
        yield score_frame(frame, dirs, **options)


class FrameScorer:
    """``score_frame`` as a callable object, for engines that build one per worker (Ray
    Data's ``map_batches(FrameScorer, fn_constructor_kwargs=...)``). Models load on the
    first call, not in the constructor, and are shared with ``score_frame`` in the process."""

    def __init__(self, model_dirs: Sequence[str | os.PathLike[str]] | None = None, **options: Any) -> None:
        self.model_dirs = model_dirs
        self.options = options

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        return score_frame(df, self.model_dirs, **self.options)


def scores_of(row: Any, labels: Sequence[str]) -> tuple[dict[str, float], dict[str, str], bool]:
    """(scores, models, windowed) of one scored row, as ``Scorer.score_records`` gives them."""
    scores = {label: float(row[label]) for label in labels if row[label] == row[label]}  # NaN: no score
    return scores, json.loads(row[MODELS_COLUMN]), bool(row[WINDOWED_COLUMN])
