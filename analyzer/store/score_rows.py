"""Score rows in the store, and the models that gave them: a record's ``scores`` go to
``scores``, its ``context_scores`` (from a model that reads a reply with its parent, its
models row marked ``context = "parent"``) to ``context_scores`` (``store.context``), each
with the hash of the parent text it was read with.

Scores are keyed by comment, text revision, model fingerprint and label, so importing them
again adds nothing and the scores of a comment's old text stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.store import schema as t
from analyzer.store.context import parent_texts, write_context_scores
from analyzer.store.schema import clean_text
from analyzer.store.stats import model_thresholds
from analyzer.store.thread_rows import canonical_json, text_hash
from analyzer.thread import Comment, Thread

__all__ = ["ModelInfo", "ScoreWriter", "record_scores", "register_models"]


@dataclass(frozen=True)
class ModelInfo:
    """What the store keeps about a model; ``of`` accepts a Classifier or anything like it."""

    name: str
    fingerprint: str
    task: str | None = None
    labels: tuple[str, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    card: str | None = None
    context: str | None = None  # "parent": the model reads a reply with its parent

    @classmethod
    def of(cls, model: Any) -> ModelInfo:
        if isinstance(model, ModelInfo):
            return model
        get = model.get if isinstance(model, Mapping) else (lambda k, d=None: getattr(model, k, d))
        return cls(
            name=str(get("name")),
            fingerprint=str(get("fingerprint")),
            task=get("task"),
            labels=tuple(get("labels") or ()),
            thresholds={str(k): float(v) for k, v in (get("thresholds") or {}).items()},
            card=get("card"),
            context=get("context") or None,
        )

    @property
    def version(self) -> str:
        return f"{self.name}@{self.fingerprint}"


# ---------------------------------------------------------------------------- models
def register_models(conn: Connection, models: Iterable[Any], now: datetime) -> dict[str, int]:
    """Insert models not yet known (by fingerprint), refresh names/thresholds/cards of known
    ones; returns {fingerprint: model id} for all models in the store."""
    known = {row.fingerprint: row for row in conn.execute(select(t.models))}
    for model in models:
        info = ModelInfo.of(model)
        values = {
            "name": info.name,
            "task": info.task,
            "labels": list(info.labels),
            "thresholds": dict(info.thresholds),
            "card": info.card,
            "context": info.context,
        }
        row = known.get(info.fingerprint)
        if row is None:
            conn.execute(insert(t.models).values(fingerprint=info.fingerprint, first_seen=now, **values))
        elif any(canonical_json(getattr(row, k)) != canonical_json(v) for k, v in values.items()):
            conn.execute(update(t.models).where(t.models.c.id == row.id).values(**values))
    return {row.fingerprint: row.id for row in conn.execute(select(t.models.c.fingerprint, t.models.c.id))}


def _model_for(record: Mapping[str, Any], label: str, by_label: Mapping[str, str], field: str = "models") -> str:
    """The fingerprint behind a record's score for ``label``: from the record's ``models``
    (or ``context_models``: "name@fingerprint"), else the one given model that provides the label."""
    version = (record.get(field) or {}).get(label)
    if version:
        return str(version).rsplit("@", 1)[-1]
    if label in by_label:
        return by_label[label]
    raise ValueError(
        f"score for label {label!r} of comment {record.get('id')!r} names no model; "
        "pass the model in models= or give the record a 'models' entry"
    )


def record_scores(
    nodes: list[Comment], records: Mapping[str, Mapping[str, Any]], key: str
) -> dict[str, dict[str, float]]:
    """{comment id: the non-null values of its record's ``key`` ("scores" or "context_scores")}
    for the comments that have some: what a new thread's statistics are computed from."""
    return {
        c.id: {k: v for k, v in records[clean_text(c.id)][key].items() if v is not None}
        for c in nodes
        if records.get(clean_text(c.id), {}).get(key)
    }


class ScoreWriter:
    """Writes one import's score rows over ``conn``, registering the models they name."""

    def __init__(self, conn: Connection, infos: Sequence[ModelInfo], now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.infos = list(infos)
        self.model_ids: dict[str, int] = {}
        self.model_thresholds: dict[int, dict[str, float]] = {}
        self.label_model: dict[str, str] = {}  # label -> fingerprint: context-free models
        self.context_label_model: dict[str, str] = {}  # ... and the context models
        for info in self.infos:
            into = self.context_label_model if info.context else self.label_model
            for label in info.labels or tuple(info.thresholds):
                into[label] = info.fingerprint

    def register(self) -> None:
        """Store the import's models; read every model's thresholds."""
        self.model_ids = register_models(self.conn, self.infos, self.now)
        self.model_thresholds = model_thresholds(self.conn)

    def thresholds(self, label_models: Mapping[str, int]) -> dict[str, float]:
        return {
            label: float(self.model_thresholds.get(mid, {}).get(label, DEFAULT_THRESHOLD))
            for label, mid in label_models.items()
        }

    def _model_id(self, record: Mapping[str, Any], label: str, fp: str, field: str, context: str | None) -> int:
        """The store's id of model ``fp``, registering one known only from its "name@fingerprint"."""
        model_id = self.model_ids.get(fp)
        if model_id is None:
            version = (record.get(field) or {}).get(label, f"unknown@{fp}")
            self.model_ids = register_models(
                self.conn,
                [ModelInfo(name=str(version).rsplit("@", 1)[0], fingerprint=fp, labels=(label,), context=context)],
                self.now,
            )
            self.model_thresholds = model_thresholds(self.conn)
            model_id = self.model_ids[fp]
        return model_id

    def _label_rows(
        self, record: Mapping[str, Any], key: str, row: Mapping[str, Any], label_models: dict[str, int]
    ) -> list[dict[str, Any]]:
        """One row per non-null label of the record's ``key`` ("scores" or "context_scores"),
        each ``row`` plus its model, label and value; ``label_models`` learns each label's model."""
        in_context = key == "context_scores"
        by_label = self.context_label_model if in_context else self.label_model
        field = "context_models" if in_context else "models"
        out: list[dict[str, Any]] = []
        for label, value in record[key].items():
            if value is None:
                continue
            fp = _model_for(record, label, by_label, field)
            model_id = self._model_id(record, label, fp, field, "parent" if in_context else None)
            label_models.setdefault(label, model_id)
            out.append({**row, "model_id": model_id, "label": label, "value": float(value)})
        return out

    def write_context(
        self,
        thread: Thread,
        records: Mapping[str, Mapping[str, Any]],
        pks: Mapping[str, int],
        revision: Mapping[str, int],
        *,
        scored_before: bool,
    ) -> tuple[int, dict[str, int]]:
        """Insert the records' ``context_scores`` not stored yet for (comment, revision, model,
        label) with this parent text; a score read under a parent that has changed since is
        replaced. Returns how many were written, and the model id that gave each label."""
        if not any(r.get("context_scores") for r in records.values()):
            return 0, {}
        hashes = {clean_text(cid): text_hash(text) for cid, text in parent_texts(thread).items()}
        rows: list[dict[str, Any]] = []
        label_models: dict[str, int] = {}
        for cid, record in records.items():
            if not record.get("context_scores") or cid not in pks:
                continue
            row = {"comment_pk": pks[cid], "revision": revision[cid], "parent_hash": hashes.get(cid, text_hash(""))}
            rows += self._label_rows(record, "context_scores", row, label_models)
        return write_context_scores(self.conn, thread.id, rows, scored_before=scored_before), label_models

    def write(
        self,
        thread_id: str,
        nodes: list[Comment],
        records: Mapping[str, Mapping[str, Any]],
        pks: Mapping[str, int],
        revision: Mapping[str, int],
        *,
        scored_before: bool,
    ) -> tuple[int, dict[str, int]]:
        """Insert the scores not stored yet for (comment, text revision, model, label);
        returns how many, and the model id that scored each label."""
        rows: list[dict[str, Any]] = []
        label_models: dict[str, int] = {}
        for c in nodes:
            cid = clean_text(c.id)
            record = records.get(cid)
            if not record or not record.get("scores"):
                continue
            row = {"comment_pk": pks[cid], "revision": revision[cid], "windowed": bool(record.get("windowed", False))}
            rows += self._label_rows(record, "scores", row, label_models)
        if rows and scored_before:
            have = set(
                tuple(r)
                for r in self.conn.execute(
                    select(t.scores.c.comment_pk, t.scores.c.revision, t.scores.c.model_id, t.scores.c.label)
                    .join(t.comments, t.comments.c.pk == t.scores.c.comment_pk)
                    .where(t.comments.c.thread_id == thread_id)
                )
            )
            rows = [r for r in rows if (r["comment_pk"], r["revision"], r["model_id"], r["label"]) not in have]
        if rows:
            _insert_scores(self.conn, rows)
        return len(rows), label_models


_SCORE_COLUMNS = ("comment_pk", "revision", "model_id", "label", "value", "windowed")


def _insert_scores(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk insert of score rows, the bulk of an import, straight through the driver:
    PostgreSQL's COPY (a data stream, no SQL text), SQLite's executemany (bound
    parameters); SQLAlchemy's per-row processing would cost more than the database."""
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # same transaction
        try:
            with cursor.copy(f"COPY {t.scores.name} ({', '.join(_SCORE_COLUMNS)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(tuple(r[k] for k in _SCORE_COLUMNS))
        finally:
            cursor.close()
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {t.scores.name} ({', '.join(_SCORE_COLUMNS)}) VALUES ({', '.join([mark] * len(_SCORE_COLUMNS))})"
    )
    conn.exec_driver_sql(sql, [tuple(r[k] for k in _SCORE_COLUMNS) for r in rows])
