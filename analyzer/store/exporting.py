"""Exports: every comment with its current scores and latest verdict (CSV or Parquet), and
the verdicts as training data in the format ``analyzer train`` reads.

Files are written next to their destination and renamed into place at the end, so a
failed export never leaves half a file. Text is written exactly as stored, except in the
comments CSV, which people open in spreadsheets: there a text cell that a spreadsheet would
read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets
a leading apostrophe, unless the caller asks for ``raw`` CSV. Parquet and the training CSV
(read by programs) are always exact.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, select

from analyzer.errors import AnalyzerError
from analyzer.scoring.labels import CANONICAL_LABELS, SENTIMENT_LABELS, TOXICITY_LABELS
from analyzer.store import schema as t

CHUNK = 10_000
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
TRAINING_TASKS = ("toxicity", "sentiment")
TRAINING_COLUMNS = ("toxicity", "insult", "identity_attack")  # always written for toxicity
_BASE = [
    "thread_id",
    "comment_id",
    "kind",
    "parent_id",
    "depth",
    "author",
    "author_inferred",
    "created_at",
    "text",
    "revision",
]
_VERDICT = ["verdict", "verdict_labels", "verdict_reviewer", "verdict_note", "verdict_at", "verdict_stale", "verdicts"]


class Written(int):
    """How many rows an export wrote (an ``int``, as callers have always read it), with how
    many of them are posts (a thread's article or submission) and how many comments."""

    posts: int
    comments: int

    def __new__(cls, *, posts: int, comments: int) -> Written:
        obj = super().__new__(cls, posts + comments)
        obj.posts, obj.comments = posts, comments
        return obj

    def describe(self) -> str:
        """'2,211 comment(s) and 3 post(s)' (posts only when there are some)."""
        text = f"{self.comments:,} comment(s)"
        return text + (f" and {self.posts:,} post(s)" if self.posts else "")


def export_format(path: str | Path) -> str:
    """ "csv" or "parquet" from the file's extension, or AnalyzerError."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise AnalyzerError(f"cannot tell the export format from {str(path)!r}: use a .csv or .parquet file name")
    return fmt


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds."""
    dest = Path(path)
    if not dest.parent.is_dir():
        raise AnalyzerError("the output directory does not exist", source=str(dest))
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    except OSError as exc:  # a full disk or a vanished directory: name the file, not the store
        Path(tmp).unlink(missing_ok=True)
        raise AnalyzerError(f"cannot write: {exc.strerror or exc}", source=str(dest)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _labels(conn: Connection, table: Any = None) -> list[str]:
    table = t.scores if table is None else table
    found = set(conn.execute(select(table.c.label).distinct()).scalars())
    return [lab for lab in CANONICAL_LABELS if lab in found] + sorted(found - set(CANONICAL_LABELS))


CONTEXT_SUFFIX = "_in_context"  # export column of a label's in-context score: toxicity_in_context


def _current(conn: Connection, table: Any, lo: int, hi: int) -> dict[int, dict[str, tuple[int, float]]]:
    """{comment pk: {label: (model id, value)}} of the current revisions in ``table`` for
    comments ``lo``..``hi``, the newest model winning a label."""
    c, s = t.comments.c, table.c
    best: dict[int, dict[str, tuple[int, float]]] = {}
    for pk, label, value, model_id in conn.execute(
        select(s.comment_pk, s.label, s.value, s.model_id)
        .join(t.comments, and_(c.pk == s.comment_pk, c.revision == s.revision))
        .where(s.comment_pk.between(lo, hi))
    ):
        mine = best.setdefault(pk, {})
        if label not in mine or model_id > mine[label][0]:
            mine[label] = (model_id, value)
    return best


def _chunks(conn: Connection, thread_id: str | None, chunk: int) -> Iterator[list[dict[str, Any]]]:
    """Comments in storage order, CHUNK at a time, each with current scores and verdicts."""
    models = {r.id: f"{r.name}@{r.fingerprint}" for r in conn.execute(select(t.models))}
    c, v = t.comments.c, t.verdicts.c
    last = -1
    while True:
        query = select(t.comments).where(c.pk > last).order_by(c.pk).limit(chunk)
        if thread_id is not None:
            query = query.where(c.thread_id == thread_id)
        rows = list(conn.execute(query))
        if not rows:
            return
        lo, hi = rows[0].pk, rows[-1].pk
        last = hi
        best = _current(conn, t.scores, lo, hi)
        in_context = _current(conn, t.context_scores, lo, hi)
        verdicts: dict[int, list[Any]] = {}
        for r in conn.execute(select(t.verdicts).where(v.comment_pk.between(lo, hi)).order_by(v.created_at, v.id)):
            verdicts.setdefault(r.comment_pk, []).append(r)
        out = []
        for r in rows:
            row = {k: getattr(r, k) for k in _BASE}
            mine = best.get(r.pk, {})
            row["scores"] = {label: val for label, (_, val) in mine.items()}
            row["models"] = {label: models[mid] for label, (mid, _) in mine.items()}
            theirs = in_context.get(r.pk, {})
            row["context_scores"] = {label: val for label, (_, val) in theirs.items()}
            row["context_models"] = {label: models[mid] for label, (mid, _) in theirs.items()}
            vs = verdicts.get(r.pk, [])
            latest = vs[-1] if vs else None
            row.update(
                verdict=latest.decision if latest else None,
                verdict_labels=latest.labels if latest else None,
                verdict_reviewer=latest.reviewer if latest else None,
                verdict_note=latest.note if latest else None,
                verdict_at=latest.created_at if latest else None,
                verdict_stale=(latest.revision != r.revision) if latest else None,
                verdicts=len(vs),
            )
            out.append(row)
        yield out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: strings it would evaluate as a formula
    (OWASP's CSV injection list) get a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export(
    conn: Connection, out: str | Path, *, thread_id: str | None = None, chunk: int = CHUNK, raw: bool = False
) -> Written:
    """Write every comment (or one thread's) with one column per label (current score), the
    models used (JSON) and the latest verdict; CSV or Parquet by extension. Posts are rows
    too (``kind`` says which). When a context model scored anything, each of its labels gets a
    ``<label>_in_context`` column and its models a ``context_models`` one (JSON). Returns the
    rows written, posts and comments counted apart. CSV cells are ``spreadsheet_safe`` unless ``raw``."""
    fmt = export_format(out)
    labels = _labels(conn)
    context_labels = _labels(conn, t.context_scores)
    labels_out = labels + [label + CONTEXT_SUFFIX for label in context_labels]
    columns = _BASE + labels_out + ["models"] + (["context_models"] if context_labels else []) + _VERDICT
    n = posts = 0
    with atomic_output(out) as tmp:
        if fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                for rows in _chunks(conn, thread_id, chunk):
                    for r in rows:
                        flat = _flat(r, labels, context_labels)
                        writer.writerow(flat if raw else {k: spreadsheet_safe(v) for k, v in flat.items()})
                    n += len(rows)
                    posts += sum(1 for r in rows if r["kind"] == "post")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema(
                [
                    ("thread_id", pa.string()),
                    ("comment_id", pa.string()),
                    ("kind", pa.string()),
                    ("parent_id", pa.string()),
                    ("depth", pa.int32()),
                    ("author", pa.string()),
                    ("author_inferred", pa.bool_()),
                    ("created_at", pa.timestamp("us", tz="UTC")),
                    ("text", pa.string()),
                    ("revision", pa.int32()),
                ]
                + [(label, pa.float64()) for label in labels_out]
                + [("models", pa.string())]
                + ([("context_models", pa.string())] if context_labels else [])
                + [
                    ("verdict", pa.string()),
                    ("verdict_labels", pa.string()),
                    ("verdict_reviewer", pa.string()),
                    ("verdict_note", pa.string()),
                    ("verdict_at", pa.timestamp("us", tz="UTC")),
                    ("verdict_stale", pa.bool_()),
                    ("verdicts", pa.int32()),
                ]
            )
            with pq.ParquetWriter(tmp, schema) as writer:
                for rows in _chunks(conn, thread_id, chunk):
                    table = pa.Table.from_pylist([_typed(r, labels, context_labels) for r in rows], schema=schema)
                    writer.write_table(table)
                    n += len(rows)
                    posts += sum(1 for r in rows if r["kind"] == "post")
    return Written(posts=posts, comments=n - posts)


def _flat(row: dict[str, Any], labels: list[str], context_labels: list[str]) -> dict[str, Any]:
    """A CSV row: times as ISO text, JSON columns as JSON text, missing values empty."""
    out = {k: row[k] for k in _BASE}
    out["created_at"] = row["created_at"].isoformat() if row["created_at"] else ""
    for label in labels:
        out[label] = row["scores"].get(label, "")
    for label in context_labels:
        out[label + CONTEXT_SUFFIX] = row["context_scores"].get(label, "")
    out["models"] = json.dumps(row["models"], sort_keys=True) if row["models"] else ""
    if context_labels:
        out["context_models"] = json.dumps(row["context_models"], sort_keys=True) if row["context_models"] else ""
    for k in _VERDICT:
        out[k] = row[k]
    out["verdict_labels"] = (
        json.dumps(row["verdict_labels"], sort_keys=True) if row["verdict_labels"] is not None else ""
    )
    out["verdict_at"] = row["verdict_at"].isoformat() if row["verdict_at"] else ""
    return {k: ("" if v is None else v) for k, v in out.items()}


def _typed(row: dict[str, Any], labels: list[str], context_labels: list[str]) -> dict[str, Any]:
    out = {k: row[k] for k in _BASE}
    for label in labels:
        out[label] = row["scores"].get(label)
    for label in context_labels:
        out[label + CONTEXT_SUFFIX] = row["context_scores"].get(label)
    out["models"] = json.dumps(row["models"], sort_keys=True) if row["models"] else None
    if context_labels:
        out["context_models"] = json.dumps(row["context_models"], sort_keys=True) if row["context_models"] else None
    for k in _VERDICT:
        out[k] = row[k]
    out["verdict_labels"] = (
        json.dumps(row["verdict_labels"], sort_keys=True) if row["verdict_labels"] is not None else None
    )
    return out


def training_rows(conn: Connection, task: str = "toxicity") -> tuple[list[str], list[dict[str, Any]]]:
    """Verdicts as labeled rows, one per comment (its latest verdict on its current text):
    approve = 0 for every toxicity column, remove = toxicity 1 (other labels as given, else
    unknown), relabel = the labels given; sentiment rows only where a verdict names one."""
    if task not in TRAINING_TASKS:
        raise AnalyzerError(f"unknown task {task!r}; use toxicity or sentiment")
    c, v = t.comments.c, t.verdicts.c
    latest: dict[int, Any] = {}
    query = (
        select(c.pk, c.text, c.revision.label("current"), v.revision, v.decision, v.labels)
        .select_from(t.verdicts.join(t.comments, c.pk == v.comment_pk))
        .order_by(v.created_at, v.id)
    )
    for r in conn.execute(query):
        latest[r.pk] = r
    rows: list[dict[str, Any]] = []
    if task == "sentiment":
        for r in latest.values():
            sentiment = (r.labels or {}).get("sentiment")
            if r.revision == r.current and sentiment in SENTIMENT_LABELS:
                rows.append({"text": r.text, "label": sentiment})
        return ["text", "label"], rows
    extra = {k for r in latest.values() for k in (r.labels or {}) if k in TOXICITY_LABELS}
    columns = [lab for lab in TOXICITY_LABELS if lab in TRAINING_COLUMNS or lab in extra]
    for r in latest.values():
        if r.revision != r.current:
            continue  # judged text that has since changed: the stored text is not what was judged
        given = {k: int(val) for k, val in (r.labels or {}).items() if k in TOXICITY_LABELS}
        if r.decision == "approve":
            values: dict[str, Any] = {lab: 0 for lab in columns}
        elif r.decision == "remove":
            values = {"toxicity": 1, **given}
        else:
            if not given:
                continue
            values = given
        rows.append({"text": r.text, **{lab: values.get(lab, "") for lab in columns}})
    return ["text", *columns], rows


def export_training(conn: Connection, out: str | Path, *, task: str = "toxicity") -> int:
    """Write ``training_rows`` as CSV for ``analyzer train``; returns the number of rows."""
    if Path(out).suffix.lower() != ".csv":
        raise AnalyzerError("training data is written as CSV: use a .csv file name", source=str(out))
    columns, rows = training_rows(conn, task)
    with atomic_output(out) as tmp, open(tmp, "w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
