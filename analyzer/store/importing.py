"""Writing parsed, scored threads into the store: one transaction, idempotent.

Importing the same content again adds nothing; a comment whose text or metadata changed is
updated in place and its text ``revision`` goes up, so the scores of its old text stay,
keyed by revision and model fingerprint. Per-thread statistics are recomputed for every
thread the import touched, inside the same transaction.

A record's ``context_scores`` (from a model that reads a reply with its parent, its models
row marked ``context = "parent"``) go to ``context_scores`` (``store.context``), each with the
hash of the parent text it was read with; ``scores`` stays context-free. Statistics rows:
``store.stats``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from analyzer.scoring.labels import DEFAULT_THRESHOLD
from analyzer.store import schema as t
from analyzer.store.context import parent_texts, write_context_scores
from analyzer.store.schema import clean_text
from analyzer.store.stats import model_thresholds, refresh_stats, stale_stats, with_context, write_stats
from analyzer.text import preview
from analyzer.thread import Comment, Thread
from analyzer.thread_stats import naive_utc

# Test hook: when set, an import touches this file half-way through (inside its
# transaction) and sleeps THREAD_ANALYZER_TEST_PAUSE_SECONDS, so tests can kill it there.
ENV_PAUSE_FILE = "THREAD_ANALYZER_TEST_PAUSE_FILE"
ENV_PAUSE_SECONDS = "THREAD_ANALYZER_TEST_PAUSE_SECONDS"
MAX_REPAIR_IDS = 100  # ids kept per repair in the imports log
APPROXIMATE = frozenset({"hour", "day", "week", "month", "year"})  # created_precision of relative times


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


@dataclass
class ImportBatch:
    """The threads parsed from one source (a file), with their scored records if any."""

    threads: Sequence[Thread]
    records: Iterable[Mapping[str, Any]] | None = None
    source: str = "<memory>"
    format: str | None = None
    sha256: str | None = None  # of the source's bytes; computed from the content when None


@dataclass
class ImportSummary:
    """What an import did, for the CLI's last line and the dashboard."""

    sources: int = 0
    sources_seen_before: int = 0
    threads_added: int = 0
    threads_updated: int = 0
    threads_unchanged: int = 0
    # every stored record, the posts among them included (the counts callers have always read)
    comments_added: int = 0
    comments_updated: int = 0
    comments_unchanged: int = 0
    # the posts among those records (a thread's article or submission), so they can be told apart
    posts_added: int = 0
    posts_updated: int = 0
    posts_unchanged: int = 0
    repaired: int = 0
    scores_added: int = 0
    import_ids: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.threads_added or self.threads_updated or self.scores_added)

    @property
    def only_comments(self) -> tuple[int, int, int]:
        """(added, updated, unchanged) comments, posts left out."""
        return (
            self.comments_added - self.posts_added,
            self.comments_updated - self.posts_updated,
            self.comments_unchanged - self.posts_unchanged,
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def text_hash(text: str) -> str:
    """32 hex characters of sha256 over the text as given (before any storage cleaning)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_sha256(threads: Iterable[Thread]) -> str:
    """A hash of what an import would store, for sources that are not files."""
    digest = hashlib.sha256()
    for thread in threads:
        digest.update(b"\x1ethread\x1f" + thread.id.encode("utf-8", "surrogatepass"))
        for c in thread.traverse("preorder"):
            for part in (c.id, c.parent_id, c.author, c.text, c.created_at.isoformat() if c.created_at else None):
                digest.update(b"\x1f" + (part or "\x00").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _canon(value: Any) -> str:
    """One string per JSON value, to compare what is stored with what arrives."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, default=str, separators=(",", ":"))


def _naive_utc(value: datetime | None) -> datetime | None:
    return naive_utc(value) if value is not None else None


def _pause_point() -> None:
    path = os.environ.get(ENV_PAUSE_FILE)
    if path:
        Path(path).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get(ENV_PAUSE_SECONDS) or 60))


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
        elif any(_canon(getattr(row, k)) != _canon(v) for k, v in values.items()):
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


# ---------------------------------------------------------------------------- import
class Importer:
    """One import transaction over ``conn`` (already begun, write-locked)."""

    def __init__(
        self,
        conn: Connection,
        models: Sequence[Any] = (),
        *,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.now = now or _now()
        self.progress = progress
        self.summary = ImportSummary()
        self.infos = [ModelInfo.of(m) for m in models]
        self.model_ids: dict[str, int] = {}
        self.model_thresholds: dict[int, dict[str, float]] = {}
        self.label_model: dict[str, str] = {}  # label -> fingerprint: context-free models
        self.context_label_model: dict[str, str] = {}  # ... and the context models
        for info in self.infos:
            into = self.context_label_model if info.context else self.label_model
            for label in info.labels or tuple(info.thresholds):
                into[label] = info.fingerprint

    def run(self, batches: Sequence[ImportBatch]) -> ImportSummary:
        from analyzer.store.alerts import ImportWatch  # rules and alerts: the same transaction

        watch = ImportWatch(self.conn, [th.id for b in batches for th in b.threads], self.now)
        self.model_ids = register_models(self.conn, self.infos, self.now)
        self.model_thresholds = model_thresholds(self.conn)
        total = sum(len(b.threads) for b in batches)
        done = 0
        pause_at = total // 2 if os.environ.get(ENV_PAUSE_FILE) else -1
        for batch in batches:
            import_id, seen = self._begin_source(batch)
            counts = ImportSummary()
            records = _index_records(batch.records)
            repairs: list[dict[str, Any]] = []
            for thread in batch.threads:
                if done == pause_at:
                    _pause_point()
                self._thread(thread, records.get(thread.id, {}), import_id, batch, counts)
                for r in thread.repairs:
                    counts.repaired += len(r.ids)
                    repairs.append(
                        {
                            "thread_id": thread.id,
                            "kind": r.kind,
                            "ids": list(r.ids[:MAX_REPAIR_IDS]),
                            "n_ids": len(r.ids),
                            "message": r.message,
                        }
                    )
                done += 1
            if not seen:
                self.conn.execute(
                    update(t.imports)
                    .where(t.imports.c.id == import_id)
                    .values(
                        repairs=repairs,
                        threads=len(batch.threads),
                        comments=counts.comments_added + counts.comments_updated + counts.comments_unchanged,
                        added=counts.comments_added,
                        updated=counts.comments_updated,
                        unchanged=counts.comments_unchanged,
                        repaired=counts.repaired,
                        scores=counts.scores_added,
                    )
                )
            self._add(counts, import_id, seen)
        watch.finish(self.summary.import_ids)
        return self.summary

    def _add(self, counts: ImportSummary, import_id: int, seen: bool) -> None:
        s = self.summary
        s.sources += 1
        s.sources_seen_before += 1 if seen else 0
        for name in (
            "threads_added",
            "threads_updated",
            "threads_unchanged",
            "comments_added",
            "comments_updated",
            "comments_unchanged",
            "posts_added",
            "posts_updated",
            "posts_unchanged",
            "repaired",
            "scores_added",
        ):
            setattr(s, name, getattr(s, name) + getattr(counts, name))
        s.import_ids.append(import_id)

    def _begin_source(self, batch: ImportBatch) -> tuple[int, bool]:
        """The import row for this source and content: the existing one when this exact
        content was imported before (nothing new is logged), else a new one."""
        sha = batch.sha256 or content_sha256(batch.threads)
        found = self.conn.execute(
            select(t.imports.c.id).where(t.imports.c.source == batch.source, t.imports.c.sha256 == sha)
        ).scalar()
        if found is not None:
            return int(found), True
        result = self.conn.execute(
            insert(t.imports).values(
                source=batch.source,
                sha256=sha,
                format=batch.format,
                imported_at=self.now,
                repairs=[],
                threads=0,
                comments=0,
                added=0,
                updated=0,
                unchanged=0,
                repaired=0,
                scores=0,
            )
        )
        return int(result.inserted_primary_key[0]), False  # type: ignore[index]  # set by every INSERT

    # ------------------------------------------------------------------ one thread
    def _thread(
        self,
        thread: Thread,
        records: Mapping[str, Mapping[str, Any]],
        import_id: int,
        batch: ImportBatch,
        counts: ImportSummary,
    ) -> None:
        conn = self.conn
        nodes = list(thread.traverse("preorder"))
        meta = {
            "title": _clean(_title(thread)),
            "source": _clean(batch.source),
            "format": _clean(thread.format or batch.format),
            "post_id": _clean(thread.post.id) if thread.post is not None else None,
            "extra": thread.extra,
            "repairs": [
                {"kind": r.kind, "ids": list(r.ids[:MAX_REPAIR_IDS]), "n_ids": len(r.ids), "message": r.message}
                for r in thread.repairs
            ],
        }
        row = conn.execute(select(t.threads).where(t.threads.c.id == thread.id)).first()
        existing: dict[str, Any] = {}
        if row is None:
            conn.execute(
                insert(t.threads).values(
                    id=thread.id,
                    first_import_id=import_id,
                    last_import_id=import_id,
                    created_at=self.now,
                    updated_at=self.now,
                    **meta,
                )
            )
        else:
            existing = {
                r.comment_id: r
                for r in conn.execute(
                    select(
                        t.comments.c.pk,
                        t.comments.c.comment_id,
                        t.comments.c.kind,
                        t.comments.c.parent_id,
                        t.comments.c.depth,
                        t.comments.c.position,
                        t.comments.c.author,
                        t.comments.c.author_inferred,
                        t.comments.c.created_at,
                        t.comments.c.created_precision,
                        t.comments.c.text_hash,
                        t.comments.c.revision,
                        t.comments.c.extra,
                        t.comments.c.flags,
                    ).where(t.comments.c.thread_id == thread.id)
                )
            }
        next_position = max((r.position for r in existing.values()), default=-1) + 1

        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        revision: dict[str, int] = {}
        for c in nodes:
            cid = clean_text(c.id)  # ids are compared as stored
            values = _comment_values(c)
            old = existing.get(cid)
            if old is None:
                values.update(
                    thread_id=thread.id,
                    comment_id=c.id,
                    position=next_position,
                    revision=1,
                    first_import_id=import_id,
                    last_import_id=import_id,
                    updated_at=self.now,
                )
                next_position += 1
                new_rows.append(values)
                revision[cid] = 1
                continue
            if values["created_precision"] in APPROXIMATE and old.created_at is not None:
                # '4 months ago' resolves differently on every run: the first reading stays
                values["created_at"] = _naive_utc(old.created_at)
                values["created_precision"] = old.created_precision
            rev = old.revision + (1 if old.text_hash != values["text_hash"] else 0)
            revision[cid] = rev
            if _differs(old, values):
                values.update(b_pk=old.pk, revision=rev, last_import_id=import_id, updated_at=self.now)
                updates.append(values)
        inserted: dict[str, int] = {}
        if new_rows and conn.dialect.name == "postgresql":
            # RETURNING makes SQLAlchemy send multi-row VALUES pages (far fewer round trips)
            # and hands back the new keys in order.
            result = conn.execute(insert(t.comments).returning(t.comments.c.pk, sort_by_parameter_order=True), new_rows)
            inserted = {clean_text(row["comment_id"]): pk for row, (pk,) in zip(new_rows, result)}
        elif new_rows:
            conn.execute(insert(t.comments), new_rows)
        if updates:
            # bind names must differ from column names in an UPDATE ... SET
            conn.execute(
                update(t.comments)
                .where(t.comments.c.pk == bindparam("b_pk"))
                .values({k: bindparam("v_" + k) for k in updates[0] if k != "b_pk"}),
                [{("v_" + k if k != "b_pk" else k): v for k, v in u.items()} for u in updates],
            )
        pks = {cid: r.pk for cid, r in existing.items()} | inserted
        if new_rows and not inserted:
            pks.update(
                (cid, pk)
                for cid, pk in conn.execute(
                    select(t.comments.c.comment_id, t.comments.c.pk).where(
                        t.comments.c.thread_id == thread.id, t.comments.c.first_import_id == import_id
                    )
                )
            )
        added_scores, label_models = self._scores(
            thread.id, nodes, records, pks, revision, scored_before=bool(existing)
        )
        added_context, context_label_models = self._context_scores(
            thread, records, pks, revision, scored_before=bool(existing)
        )
        added_scores += added_context

        counts.comments_added += len(new_rows)
        counts.comments_updated += len(updates)
        counts.comments_unchanged += len(nodes) - len(new_rows) - len(updates)
        posts = sum(1 for c in nodes if c.kind == "post")
        counts.posts_added += sum(1 for r in new_rows if r["kind"] == "post")
        counts.posts_updated += sum(1 for r in updates if r["kind"] == "post")
        counts.posts_unchanged += posts - sum(1 for r in (*new_rows, *updates) if r["kind"] == "post")
        counts.scores_added += added_scores
        meta_changed = row is not None and any(_canon(getattr(row, k)) != _canon(v) for k, v in meta.items())
        if row is None:
            counts.threads_added += 1
        elif new_rows or updates or added_scores or meta_changed:
            counts.threads_updated += 1
            conn.execute(
                update(t.threads)
                .where(t.threads.c.id == thread.id)
                .values(last_import_id=import_id, updated_at=self.now, **meta)
            )
        else:
            counts.threads_unchanged += 1
        if row is None:
            scores = {
                c.id: {k: v for k, v in records[clean_text(c.id)]["scores"].items() if v is not None}
                for c in nodes
                if records.get(clean_text(c.id), {}).get("scores")
            }
            context_scores = {
                c.id: {k: v for k, v in records[clean_text(c.id)]["context_scores"].items() if v is not None}
                for c in nodes
                if records.get(clean_text(c.id), {}).get("context_scores")
            }
            write_stats(
                conn,
                thread,
                scores,
                self._thresholds(label_models),
                self.now,
                context_scores=context_scores,
                context_thresholds=self._thresholds(context_label_models),
            )
        elif new_rows or updates or added_scores:
            refresh_stats(conn, [thread.id], now=self.now)
        if self.progress is not None:
            self.progress(len(nodes))

    def _thresholds(self, label_models: Mapping[str, int]) -> dict[str, float]:
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

    def _context_scores(
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
            for label, value in record["context_scores"].items():
                if value is None:
                    continue
                fp = _model_for(record, label, self.context_label_model, "context_models")
                model_id = self._model_id(record, label, fp, "context_models", "parent")
                label_models.setdefault(label, model_id)
                rows.append(
                    {
                        "comment_pk": pks[cid],
                        "revision": revision[cid],
                        "model_id": model_id,
                        "label": label,
                        "value": float(value),
                        "parent_hash": hashes.get(cid, text_hash("")),
                    }
                )
        return write_context_scores(self.conn, thread.id, rows, scored_before=scored_before), label_models

    def _scores(
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
            windowed = bool(record.get("windowed", False))
            for label, value in record["scores"].items():
                if value is None:
                    continue
                fp = _model_for(record, label, self.label_model)
                model_id = self._model_id(record, label, fp, "models", None)
                label_models.setdefault(label, model_id)
                rows.append(
                    {
                        "comment_pk": pks[cid],
                        "revision": revision[cid],
                        "model_id": model_id,
                        "label": label,
                        "value": float(value),
                        "windowed": windowed,
                    }
                )
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


def _index_records(records: Iterable[Mapping[str, Any]] | None) -> dict[str, dict[str, Mapping[str, Any]]]:
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in records or ():
        out.setdefault(str(r["thread_id"]), {})[clean_text(str(r["id"]))] = r
    return out


def _title(thread: Thread) -> str | None:
    for extra in (thread.extra, thread.post.extra if thread.post is not None else {}):
        title = extra.get("title") if isinstance(extra, Mapping) else None
        if title:
            return str(title)[:300]
    if thread.post is not None and thread.post.text:
        return preview(thread.post.text)
    return None


def _clean(value: str | None) -> str | None:
    return clean_text(value) if value is not None else None


def _comment_values(c: Comment) -> dict[str, Any]:
    """The stored form of a comment's fields (strings as the database will hold them, so a
    re-import compares equal; the text is compared by the hash of its original)."""
    return {
        "kind": c.kind,
        "parent_id": _clean(c.parent_id),
        "depth": c.depth,
        "author": _clean(c.author),
        "author_inferred": bool(c.author_inferred),
        "created_at": _naive_utc(c.created_at),
        "created_precision": _clean(c.created_precision),
        "text": c.text,
        "text_hash": text_hash(c.text),
        "extra": c.extra,
        "flags": list(c.flags),
    }


def _differs(old: Any, values: Mapping[str, Any]) -> bool:
    for key in ("kind", "parent_id", "depth", "author", "author_inferred", "created_precision", "text_hash"):
        if getattr(old, key) != values[key]:
            return True
    if _naive_utc(old.created_at) != values["created_at"]:
        return True
    return _canon(old.extra) != _canon(values["extra"]) or _canon(old.flags) != _canon(values["flags"])


__all__ = [
    "ImportBatch",
    "ImportSummary",
    "Importer",
    "ModelInfo",
    "model_thresholds",
    "parent_texts",
    "refresh_stats",
    "stale_stats",
    "text_hash",
    "with_context",
    "write_stats",
]
